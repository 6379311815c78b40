// The sensors (nodes) page, in household words: what each is called (renamable), whether it measures the
// whole house, when it was last heard, readings missed, the clamp's size in watts, whether it measures the
// voltage (then the voltage, its power factor in words, the units sent to the grid) or assumes it (then how
// to set or measure it); the engineer's details (id, firmware, calibration, restarts) folded under "Details".
// Above them, the power supply of the last seven days: power cuts and the voltage's quality.
import { reactive, computed } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, num, watts, dateTime, ago, dayOfIso, hourMinute, todayIso } from "../format.js";
import { state, toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";

const MAINS_VOLTS = 230;  // India's mains: what a clamp's amps mean in watts

const TRANSPORTS = { serial: "link_cable", ble: "link_bluetooth", sim: "link_demo" };

// A power factor in a family's words: how much of the current the appliances on this sensor turn into work.
export function pfWords(pf) {
  if (pf === null || pf === undefined) return "—";
  const key = pf >= 0.95 ? "pf_good" : pf >= 0.8 ? "pf_fair" : "pf_poor";
  return t(key, { pf: num(pf, 2) });
}

// Minutes as "45 min" or "2 h 5 min".
export function duration(min) {
  const m = Math.round(min);
  if (m < 60) return t("supply_min", { n: m });
  return m % 60 ? t("supply_h_min", { h: Math.floor(m / 60), m: m % 60 }) : t("supply_h", { h: m / 60 });
}

// One scope's figures of a day: the house's (its mains) when a mains sensor measures the voltage, else the
// sensor with the most minutes measured.
function dayFigures(d) {
  if (d.house) return d.house;
  const all = Object.values(d.nodes || {});
  return all.length ? all.reduce((a, b) => (b.minutes > a.minutes ? b : a)) : null;
}

// The voltage of some days in one summary: minutes outside the band, on how many days, the lowest and highest.
export function voltageSummary(days) {
  const figs = days.map((d) => [d.day, dayFigures(d)]).filter(([, f]) => f && f.minutes);
  if (!figs.length) return null;
  let sag = null, surge = null;
  for (const [, f] of figs) {
    if (!sag || f.sag_v < sag.sag_v) sag = f;
    if (!surge || f.surge_v > surge.surge_v) surge = f;
  }
  return {
    minutes_out: figs.reduce((s, [, f]) => s + f.minutes_out, 0),
    minutes_low: figs.reduce((s, [, f]) => s + f.minutes_low, 0),
    minutes_high: figs.reduce((s, [, f]) => s + f.minutes_high, 0),
    days_out: figs.filter(([, f]) => f.minutes_out > 0).length,
    sag_v: sag.sag_v, sag_ms: sag.sag_ms, surge_v: surge.surge_v, surge_ms: surge.surge_ms,
  };
}

// The power supply over the last seven days: cuts (when, how long), today's and the week's voltage.
export const SupplyCard = {
  components: shared,
  setup() {
    const { data, error, loading, reload } = useLoad(() => get("/supply"), { every: 60000 });
    const band = computed(() => ({ low: num(data.value?.band_v?.[0], 0), high: num(data.value?.band_v?.[1], 0) }));
    const today = computed(() => (data.value ? voltageSummary(data.value.days.filter((d) => d.day === data.value.to)) : null));
    const week = computed(() => (data.value ? voltageSummary(data.value.days) : null));
    const cuts = computed(() => (data.value?.cuts || []).slice().reverse().slice(0, 5));
    const measured = computed(() => week.value !== null);
    const fine = computed(() => data.value && !data.value.cuts.length && !data.value.silent_since_ms && (!week.value || !week.value.minutes_out));
    const at = (ms) => t("supply_at", { time: hourMinute(ms), date: dayOfIso(todayIso(ms)) });
    const outLine = (s) => (s.minutes_out ? t("supply_out", { time: duration(s.minutes_out), low: band.value.low, high: band.value.high }) : t("supply_in", { low: band.value.low, high: band.value.high }));
    return { data, error, loading, reload, band, today, week, cuts, measured, fine, at, outLine, duration, dateTime, dayOfIso, num, t };
  },
  template: `
  <div class="card supply-card" data-testid="supply-card">
    <h2 class="card-title">{{ t('supply_title') }}</h2>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error && !data" :error="error" @retry="reload"/>
    <template v-else-if="data">
      <p v-if="data.silent_since_ms" class="text-warn" data-testid="supply-silent">{{ t('supply_silent', { when: dateTime(data.silent_since_ms) }) }}</p>
      <p v-if="fine" class="text-ok" data-testid="supply-fine">{{ measured ? t('supply_fine', { low: band.low, high: band.high }) : t('supply_fine_cuts') }}</p>
      <template v-if="data.cuts.length">
        <h3 class="sub">{{ t('supply_cuts_title', { n: data.cuts.length, time: duration(data.cut_minutes) }) }}</h3>
        <ul class="plain supply-cuts" data-testid="supply-cuts">
          <li v-for="c in cuts" :key="c.start_ms">{{ t('supply_cut', { when: dateTime(c.start_ms), time: duration(c.duration_min) }) }}</li>
        </ul>
      </template>
      <p v-else-if="!fine" class="small" data-testid="supply-no-cuts">{{ t('supply_no_cuts') }}</p>
      <template v-if="measured">
        <h3 class="sub">{{ t('supply_voltage_title') }}</h3>
        <p class="small" v-if="today" data-testid="supply-today"><b>{{ t('supply_today') }}</b> {{ outLine(today) }}
          {{ t('supply_range', { low: num(today.sag_v, 0), low_at: at(today.sag_ms), high: num(today.surge_v, 0), high_at: at(today.surge_ms) }) }}</p>
        <p class="small" data-testid="supply-week"><b>{{ t('supply_week') }}</b> {{ outLine(week) }}{{ week.days_out ? ' ' + t('supply_days_out', { n: week.days_out }) : '' }}
          {{ t('supply_range', { low: num(week.sag_v, 0), low_at: at(week.sag_ms), high: num(week.surge_v, 0), high_at: at(week.surge_ms) }) }}</p>
        <p class="small muted" v-if="week.minutes_out">{{ t('supply_why') }}</p>
      </template>
      <p v-else-if="!fine" class="small muted" data-testid="supply-not-measured">{{ t('supply_not_measured') }}</p>
    </template>
  </div>`,
};

export const Nodes = {
  components: { ...shared, SupplyCard },
  setup() {
    const { data, error, loading, reload } = useLoad(() => get("/nodes"), { every: 10000 });
    const edit = reactive({ id: null, name: "", error: null });
    function startRename(n) { edit.id = n.node_id; edit.name = n.name; edit.error = null; }
    async function send(body, done) {
      try { data.value = await api("PATCH", "/nodes", body); done(); }
      catch (e) { edit.error = e.message; toast(e.message, "bad"); }
    }
    const saveName = () => send({ names: { [edit.id]: edit.name } }, () => { toast(t("node_renamed")); edit.id = null; });
    const setMains = (ids) => send({ mains: ids }, () => toast(t("node_mains_saved")));
    const linkWord = (tr) => (TRANSPORTS[tr] ? t(TRANSPORTS[tr]) : tr || "—");
    const sensorWords = (n) => (n.sensor_amps ? t("sensor_size", { amps: n.sensor_amps, watts: watts(n.sensor_amps * MAINS_VOLTS) }) : "—");
    const assumed = (n) => num(n.vrms_v || MAINS_VOLTS, 0);
    return { data, error, loading, reload, edit, startRename, saveName, setMains, linkWord, sensorWords, assumed, pfWords, t, num, watts, ago, dateTime, state, isAdmin };
  },
  template: `
  <section>
    <h1>{{ t('sensors_title') }}</h1>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error" :error="error" @retry="reload"/>
    <div v-else-if="!data.nodes.length" class="card empty" data-testid="nodes-empty"><p>{{ t('sensors_none') }}</p><p class="small muted">{{ t('sensors_none_help') }}</p></div>
    <template v-else>
      <SupplyCard/>
      <p class="small muted" data-testid="mains-line">{{ data.mains.length && data.nodes.some((n) => !n.mains) ? t('mains_some', { names: data.nodes.filter((n) => n.mains).map((n) => n.name).join(', ') }) : t('mains_all') }}</p>
      <div class="grid nodes-grid">
        <div v-for="n in data.nodes" :key="n.node_id" class="card" :data-node="n.node_id">
          <div class="row between">
            <h2 class="card-title node-name" data-testid="node-name">{{ n.name }}</h2>
            <span class="pill" :class="n.online ? 'ok' : 'bad'">{{ n.online ? t('node_online') : t('node_offline') }}</span></div>
          <form v-if="edit.id === n.node_id" class="row gap wrap end" @submit.prevent="saveName">
            <label class="grow">{{ t('node_new_name') }}<input name="node-name" v-model="edit.name" maxlength="40" autocomplete="off"></label>
            <button class="button small-btn" data-testid="save-name">{{ t('save') }}</button>
            <button type="button" class="button ghost small-btn" @click="edit.id = null">{{ t('cancel') }}</button>
          </form>
          <div v-else-if="isAdmin()" class="row gap wrap">
            <button class="button ghost small-btn" @click="startRename(n)" data-testid="rename">{{ t('node_rename') }}</button>
            <button v-if="!n.mains" class="button ghost small-btn" @click="setMains([n.node_id])" data-testid="make-mains">{{ t('node_make_mains') }}</button>
            <button v-else class="button ghost small-btn" @click="setMains([])" data-testid="unmake-mains">{{ t('node_unmake_mains') }}</button>
          </div>
          <p v-if="n.mains" class="small text-ok" data-testid="is-mains">{{ t('node_is_mains') }}</p>
          <p v-if="n.measures_voltage === true" class="small volt-line" data-testid="volt-measured">{{ t('volt_measured') }}</p>
          <p v-else-if="n.measures_voltage === false" class="small volt-line" data-testid="volt-assumed">{{ t('volt_assumed', { v: assumed(n) }) }}</p>
          <dl class="facts">
            <dt>{{ t('node_now') }}</dt><dd>{{ watts(n.power_w) }}</dd>
            <template v-if="n.measures_voltage">
              <dt>{{ t('volt_now') }}</dt><dd data-testid="node-volts">{{ n.vrms_v != null ? t('volt_value', { v: num(n.vrms_v, 0) }) : '—' }}</dd>
              <dt>{{ t('pf_title') }}</dt><dd data-testid="node-pf">{{ pfWords(n.pf) }}</dd>
              <template v-if="n.export_total_kwh > 0"><dt>{{ t('export_total') }}</dt><dd data-testid="node-export">{{ t('units_n', { n: num(n.export_total_kwh, 1) }) }}</dd></template>
            </template>
            <dt>{{ t('last_seen') }}</dt><dd :title="dateTime(n.last_seen_ms)">{{ ago(n.last_seen_ms, state.now) }}</dd>
            <dt>{{ t('readings_missed') }}</dt><dd>{{ t('readings_missed_value', { n: n.frames_lost, pct: num(n.loss_pct, 1) }) }}</dd>
            <dt>{{ t('sensor_clamp') }}</dt><dd>{{ sensorWords(n) }}</dd>
            <dt>{{ t('node_connection') }}</dt><dd>{{ linkWord(n.transport) }}</dd>
            <dt>{{ t('energy_total') }}</dt><dd>{{ t('units_n', { n: num(n.energy_total_kwh, 1) }) }}</dd>
          </dl>
          <details v-if="n.measures_voltage === false" class="small" data-testid="volt-how">
            <summary>{{ t('volt_how_title') }}</summary>
            <p>{{ t('volt_how_assumed', { v: assumed(n) }) }}</p>
            <p>{{ t('volt_how_set') }}</p>
            <pre class="mono command">powergw calibrate --port /dev/ttyUSB0 --node {{ n.node_id }} --vnom 240</pre>
            <p>{{ t('volt_how_module') }}</p>
          </details>
          <details v-else-if="n.measures_voltage" class="small" data-testid="volt-how">
            <summary>{{ t('volt_how_title') }}</summary>
            <p>{{ t('volt_how_measured') }}</p>
            <pre class="mono command">powergw calibrate --port /dev/ttyUSB0 --node {{ n.node_id }} --known-volts 236.4</pre>
          </details>
          <details class="small">
            <summary>{{ t('details') }}</summary>
            <dl class="facts">
              <dt>{{ t('node_id') }}</dt><dd class="mono">{{ n.node_id }}</dd>
              <dt v-if="n.reported_name && n.reported_name !== n.name">{{ t('node_own_name') }}</dt><dd v-if="n.reported_name && n.reported_name !== n.name">{{ n.reported_name }}</dd>
              <dt>{{ t('firmware') }}</dt><dd>{{ n.fw || '—' }}</dd>
              <dt>{{ t('calibration') }}</dt><dd>{{ n.calibrated ? t('calibrated', { mv: num(n.mv_per_a, 1), amps: n.sensor_amps }) : t('uncalibrated') }}</dd>
              <dt>{{ t('reboots') }}</dt><dd>{{ n.reboots }}</dd>
            </dl>
          </details>
        </div>
      </div>
    </template>
  </section>`,
};
