// The Overview page: what a family reads in ten seconds. Power now with the last hour as a live line,
// today by hour against a usual day, the cycle's bill and its likely range, the next slab when it is near,
// open alerts in a sentence each, theft detection in plain words, then each sensor.
import { ref, computed, watch, onMounted, onUnmounted } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, inr, num, watts, dayOfIso, ago, hourLabel, hourMinute, dateTime } from "../format.js";
import { state, toast } from "../store.js";
import { isAdmin, useLoad, Unavailable, Loading, ErrorBox, shared } from "./shared.js";
import { Sparkline, HourChart } from "./overview_charts.js";
import { say } from "./alerts.js";
import { sentence } from "./bill.js";
import { duration } from "./nodes.js";

const HOUR_MS = 3600000;

// The last hour of the house's watts: the minute data once a minute, the live stream's values at the right edge.
function useLastHour() {
  const minutes = ref([]);
  const live = ref([]);
  let timer = null;
  async function load() {
    try {
      const now = state.now;
      const p = await get(`/power?from=${now - HOUR_MS}&to=${now}`);
      minutes.value = p.buckets.map((b, i) => [b + p.step_ms / 2, p.house_w[i]]).filter(([, w]) => w !== null);
      const last = minutes.value.length ? minutes.value[minutes.value.length - 1][0] : 0;
      live.value = live.value.filter(([ts]) => ts > last);
    } catch (e) { /* the line waits for the next try; the big number still shows the live value */ }
  }
  watch(() => state.live.ts_ms, (ts) => {
    const w = state.live.house_power_w;
    if (!ts || w === null || w === undefined) return;
    const list = live.value.filter(([x]) => x > ts - HOUR_MS && x !== ts);
    list.push([ts, w]);
    live.value = list;
  });
  onMounted(() => { load(); timer = setInterval(load, 60000); });
  onUnmounted(() => clearInterval(timer));
  return computed(() => {
    const from = state.now - HOUR_MS;
    return [...minutes.value, ...live.value].filter(([ts]) => ts >= from);
  });
}

export const Overview = {
  components: { ...shared, Sparkline, HourChart },
  setup() {
    const { data, error, loading, reload } = useLoad(() => get("/overview"), { every: 30000 });
    const alerts = useLoad(() => get("/alerts?state=open&limit=5"), { every: 30000 });
    watch(data, (d) => { if (d?.alerts && !d.alerts.unavailable) state.alertsOpen = d.alerts.open; });
    const nodes = computed(() => {
      const list = data.value?.nodes || [];
      return list.map((n) => {
        const live = state.live.nodes?.[n.node_id];
        return live ? { ...n, power_w: live.power_w, irms_a: live.irms_a, vrms_v: live.vrms_v, live_ts: live.ts_ms } : n;
      });
    });
    // The whole house's power, as the gateway counts it (its mains, each ESP32 once): live while the
    // stream is fresh, else the overview's.
    const fresh = computed(() => state.live.ts_ms && state.now - state.live.ts_ms < 300000);
    const total = computed(() => {
      const live = state.live.house_power_w;
      return live !== undefined && live !== null && fresh.value ? live : data.value?.power_w ?? null;
    });
    const liveOn = computed(() => total.value !== null && fresh.value && state.now - state.liveReceivedAt < 5000);
    const lastHour = useLastHour();
    const subCircuits = computed(() => nodes.value.filter((n) => n.metered === false).length);
    const bill = computed(() => data.value?.bill);
    const measured = computed(() => !bill.value?.unavailable && bill.value?.cycle?.covered_days > 0);
    const budgetPct = computed(() => {
      const b = bill.value;
      if (!b || b.unavailable || !b.budget || Number(b.budget) <= 0) return null;
      return Math.min(100, (100 * Number(b.bill_till_date)) / Number(b.budget));
    });
    const projPct = computed(() => {
      const b = bill.value;
      if (!b || b.unavailable || !b.budget || Number(b.budget) <= 0 || !b.projection) return null;
      return Math.min(100, (100 * Number(b.projection.bill)) / Number(b.budget));
    });
    // Today against a usual day by this hour: more, less or about the same (within a tenth).
    const vsUsual = computed(() => {
      const h = data.value?.today_hours;
      if (!h || h.usual_kwh_so_far == null || data.value.today_kwh == null) return null;
      const diff = data.value.today_kwh - h.usual_kwh_so_far;
      if (Math.abs(diff) <= 0.1 * Math.max(h.usual_kwh_so_far, 0.5)) return t("ov_today_vs_same");
      return t(diff > 0 ? "ov_today_vs_more" : "ov_today_vs_less", { units: num(Math.abs(diff), 1) });
    });
    const headline = computed(() => {
      const h = data.value?.slab_headline;
      if (!h) return null;
      const n = (x) => num(Number(x), 0);
      if (h.kind === "over") return t("ov_headline_over", { units: n(h.projected_units), over: n(h.units_over), edge: n(h.boundary), extra: inr(h.extra) });
      return t("ov_headline_near", { units: n(h.projected_units), left: n(h.units_left), edge: n(h.boundary), rate: inr(h.rate_above) });
    });
    const coverage = computed(() => {
      const c = bill.value?.cycle;
      if (!c) return null;
      const days = num(c.elapsed_days, 1);
      return c.coverage_note ? t("ov_coverage_part", { covered: num(c.covered_days, 1), days }) : t("ov_coverage_full", { days });
    });
    const openAlerts = computed(() => alerts.data.value?.alerts || []);
    const alertText = (a) => (a.summary?.key ? say(a.summary) : alerts.data.value?.kinds?.[a.kind] || a.kind);
    // An Ignore taken back (Stop ignoring, or a Raise): the daemon's next hourly theft check drops the rule.
    const takenBack = (r) => r.alert_state === "open" || r.alert_state === "raised";
    // Stop ignoring from the list itself: the only place for an ignored alert the household has since
    // resolved (the Alerts page offers it on ignored ones, with a comment).
    const canStop = (r) => isAdmin() && r.alert_id && (r.alert_state === "ignored" || r.alert_state === "resolved");
    async function stopIgnoring(r) {
      try {
        await api("POST", `/alerts/${r.alert_id}/unignore`, { comment: "" });
        toast(t("alert_unignored"));
        reload();
      } catch (e) { toast(e.message, "bad"); }
    }
    return {
      data, error, loading, reload, nodes, total, liveOn, lastHour, subCircuits, state, t, inr, num, watts, ago, dayOfIso,
      hourLabel, hourMinute, bill, measured, budgetPct, projPct, vsUsual, headline, coverage, openAlerts, alertText, takenBack,
      canStop, stopIgnoring, sentence, duration, dateTime,
    };
  },
  template: `
  <section class="overview">
    <h1 class="sr-only">{{ t('nav_overview') }}</h1>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error && !data" :error="error" @retry="reload"/>
    <template v-else>
      <p class="headline" v-if="headline" data-testid="slab-headline">{{ headline }} <a href="#/bill">{{ t('ov_headline_link') }}</a></p>
      <div class="card welcome" v-if="!data.has_readings" data-testid="welcome">
        <h2 class="card-heading">{{ t('ov_welcome_title') }}</h2>
        <p class="small">{{ t('ov_welcome_text') }}</p>
      </div>

      <div class="ov-top">
        <div class="card hero" data-testid="power-card">
          <div class="card-title">{{ t('live_now') }} <span v-if="liveOn" class="live-dot on" data-testid="live-dot"></span></div>
          <div class="big" data-testid="live-total">{{ watts(total) }}</div>
          <div class="muted small" v-if="!state.liveReceivedAt">{{ t('live_waiting') }}</div>
          <div class="muted small" v-else-if="total === null">{{ t('ov_live_none') }}</div>
          <div class="muted small" v-else>{{ t('live_updated', { ago: ago(state.live.ts_ms, state.now) }) }}</div>
          <Sparkline v-if="lastHour.length" :points="lastHour" :now="state.now" data-testid="sparkline"/>
          <div class="muted small" v-if="subCircuits" data-testid="metered-note">{{ t('live_metered_only', { n: subCircuits }) }}</div>
        </div>

        <div class="card" data-testid="today-card">
          <div class="card-title">{{ t('ov_today_title') }}</div>
          <template v-if="data.has_readings && data.today_kwh != null">
            <div class="row between wrap gap">
              <div class="big">{{ num(data.today_kwh, 1) }} <small>{{ t('units') }}</small></div>
              <div class="big-ish today-cost" v-if="data.today_cost != null" data-testid="today-cost">{{ inr(data.today_cost) }}</div>
            </div>
            <div class="small" v-if="vsUsual" data-testid="today-vs-usual">{{ vsUsual }}</div>
            <HourChart :hours="data.today_hours" :today-kwh="data.today_kwh" :today-cost="data.today_cost"/>
            <div class="muted small" v-if="data.today_hours.usual_kwh_day != null">{{ t('ov_today_usual_help', { days: data.today_hours.usual_days }) }}</div>
          </template>
          <p class="muted small" v-else>{{ t('ov_today_none') }}</p>
        </div>

        <div class="card" data-testid="bill-card">
          <div class="card-title">{{ t('ov_cycle_title') }}</div>
          <Unavailable v-if="bill.unavailable" :reason="bill.unavailable"/>
          <template v-else-if="measured">
            <div class="big">{{ inr(bill.bill_till_date) }}</div>
            <div class="muted small">{{ t('ov_cycle_so_far', { units: num(Number(bill.units_till_date), 1), day: bill.cycle.day_index, days: bill.cycle.days }) }}</div>
            <div class="projection-box" v-if="bill.projection && bill.cycle.covered_days >= 1" data-testid="projection">
              <div class="small">{{ t('ov_projection_title', { date: dayOfIso(bill.cycle.last_day) }) }}</div>
              <div class="big-ish" :class="{ warn: bill.projected_over_budget }">{{ inr(bill.projection.bill, { decimals: 0 }) }}</div>
              <div class="small" data-testid="projection-range">{{ t('ov_projection_range', { low: inr(bill.projection.low_total, { decimals: 0 }), high: inr(bill.projection.high_total, { decimals: 0 }) }) }}</div>
              <div class="muted small">{{ t('ov_projection_units', { units: num(bill.projection.units, 0), low: num(bill.projection.low, 0), high: num(bill.projection.high, 0) }) }}</div>
              <div class="muted small" data-testid="projection-method">{{ t('ov_method_' + bill.projection.method) }}</div>
            </div>
            <p class="muted small" v-else data-testid="projection-later">{{ t('ov_projection_later') }}</p>
            <div class="small" :class="{ 'text-warn': bill.cycle.coverage_note }" data-testid="coverage">{{ coverage }}</div>
            <template v-if="budgetPct !== null">
              <div class="meter" :title="t('budget')">
                <div class="meter-fill" :style="{ width: budgetPct + '%' }"></div>
                <div class="meter-proj" :style="{ left: projPct + '%' }"></div>
              </div>
              <div class="small">{{ t('budget_of', { used: inr(bill.bill_till_date), budget: inr(bill.budget) }) }} ·
                <b :class="bill.projected_over_budget ? 'text-warn' : 'text-ok'">{{ bill.projected_over_budget ? t('budget_over') : t('budget_ok') }}</b></div>
            </template>
            <a class="small" href="#/bill" v-else>{{ t('budget_none') }}</a>
          </template>
          <p class="muted small" v-else data-testid="cycle-empty">{{ t('ov_cycle_none') }}</p>
        </div>
      </div>

      <div class="card setup-gaps" v-if="data.setup?.length" data-testid="setup-gaps">
        <div class="card-title">{{ t('setup_gaps_title') }}</div>
        <div v-for="g in data.setup" :key="g.key" class="setup-gap" :data-setup="g.key">
          <div class="small">{{ sentence(g.sentence) }}</div>
          <div class="small"><span class="muted">{{ sentence(g.fix) }}</span> <a href="#/settings?setup" data-testid="setup-gap-link">{{ t('setup_gap_link') }}</a></div>
        </div>
      </div>

      <div class="card supply-glance" v-if="data.supply" data-testid="supply-glance">
        <div class="card-title">{{ t('supply_title') }}</div>
        <p class="small text-warn" v-if="data.supply.silent_since_ms">{{ t('supply_silent', { when: dateTime(data.supply.silent_since_ms) }) }}</p>
        <p class="small" v-if="data.supply.cuts">{{ t('supply_glance_cuts', { n: data.supply.cuts, days: data.supply.days, time: duration(data.supply.cut_minutes) }) }}
          <span v-if="data.supply.last_cut">{{ t('supply_glance_last', { when: dateTime(data.supply.last_cut.start_ms), time: duration(data.supply.last_cut.duration_min) }) }}</span></p>
        <p class="small" v-if="data.supply.minutes_out">{{ t('supply_glance_volts', { time: duration(data.supply.minutes_out), days: data.supply.days, low: num(data.supply.band_v[0], 0), high: num(data.supply.band_v[1], 0) }) }}</p>
        <a class="small" href="#/nodes">{{ t('supply_glance_link') }}</a>
      </div>

      <div class="grid two">
        <div class="card" data-testid="alerts-card">
          <div class="card-title">{{ t('ov_alerts_title') }}</div>
          <Unavailable v-if="data.alerts.unavailable" :reason="data.alerts.unavailable"/>
          <template v-else>
            <p class="small" v-if="!data.alerts.open">{{ t('open_alerts_none') }}</p>
            <ul class="alert-lines" v-else>
              <li v-for="a in openAlerts" :key="a.id" :data-alert-line="a.id" :class="'sev-' + a.severity">
                <a :href="'#/alerts?state=open&alert=' + a.id">{{ alertText(a) }}</a>
                <span class="muted small"> · {{ ago(a.last_seen_ms || a.created_ms, state.now) }}</span>
              </li>
            </ul>
            <div class="muted small" v-if="data.alerts.open > openAlerts.length && openAlerts.length">{{ t('ov_alerts_more', { n: data.alerts.open - openAlerts.length }) }}</div>
            <a class="button ghost small-btn" href="#/alerts">{{ t('view_alerts') }}</a>
          </template>
        </div>
        <div class="card" data-testid="theft-card">
          <div class="card-title">{{ t('model_title') }}</div>
          <Unavailable v-if="data.model.unavailable" :reason="data.model.unavailable"/>
          <template v-else>
            <div class="model-line" v-if="data.model.learning">{{ t('ov_model_learning', { days: data.model.history_days, min: data.model.min_history_days }) }}</div>
            <div class="model-line" v-else>{{ t('ov_model_watching') }}</div>
            <div class="progress" v-if="data.model.learning"><div :style="{ width: Math.min(100, 100 * data.model.history_days / data.model.min_history_days) + '%' }"></div></div>
            <div class="small bad-text" v-if="data.model.problem" data-testid="model-problem">{{ data.model.problem }}</div>
            <div class="muted small" v-if="data.model.last_run_ms">{{ t('model_last_run', { when: ago(data.model.last_run_ms, state.now) }) }}</div>
            <div class="muted small" v-else>{{ t('model_not_run') }}</div>
            <details class="small details" v-if="data.model.version || data.model.check_set?.roc_auc">
              <summary>{{ t('ov_model_details') }}</summary>
              <div class="muted" v-if="data.model.version">{{ t('ov_model_version', { version: data.model.version }) }}</div>
              <div class="muted" v-if="data.model.check_set?.roc_auc">{{ t('ov_model_figures', { auc: num(data.model.check_set.roc_auc, 2), days: data.model.history_days }) }}</div>
            </details>
            <div class="ignored" v-if="data.model.ignore_rules?.length" data-testid="ignored-patterns">
              <div class="ignored-title small">{{ t('model_ignored_title') }}</div>
              <div class="muted small">{{ t('model_ignored_help') }}</div>
              <ul>
                <li v-for="r in data.model.ignore_rules" class="small" :data-rule-alert="r.alert_id">
                  <span class="rule-text">{{ r.text }}</span>
                  <template v-if="r.alert_id"> · <a :href="'#/alerts?state=' + (r.alert_state || 'all') + '&alert=' + r.alert_id">{{ t('model_ignored_alert', { id: r.alert_id }) }}</a></template>
                  <span v-if="takenBack(r)" class="muted"> · {{ t('model_ignored_ending') }}</span>
                  <template v-if="canStop(r)"> · <button class="link" data-action="unignore" :title="t('alert_unignore_help')" @click="stopIgnoring(r)">{{ t('alert_unignore') }}</button></template>
                </li>
              </ul>
            </div>
          </template>
        </div>
      </div>

      <h2 class="section-title" v-if="nodes.length">{{ t('ov_sensors_title') }}</h2>
      <div class="grid nodes-grid">
        <div v-for="n in nodes" :key="n.node_id" class="card node" :data-node="n.node_id">
          <div class="row between">
            <div class="card-title">{{ n.name }}</div>
            <span class="pill" :class="n.online ? 'ok' : 'bad'">{{ n.online ? t('node_online') : t('node_offline') }}</span>
          </div>
          <div class="big" data-testid="node-power">{{ watts(n.power_w) }}</div>
          <div class="muted small"><span v-if="n.irms_a != null">{{ num(n.irms_a, 2) }} A · </span><span v-if="n.measures_voltage && n.vrms_v != null">{{ num(n.vrms_v, 0) }} V · </span>{{ ago(n.live_ts || n.last_seen_ms, state.now) }}</div>
        </div>
      </div>
    </template>
  </section>`,
};
