// The sensors (nodes) page, in household words: what each is called (renamable), whether it measures the
// whole house, when it was last heard, readings missed, the clamp's size in watts; the engineer's details
// (id, firmware, calibration, restarts) folded under "Details".
import { reactive } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, num, watts, dateTime, ago } from "../format.js";
import { state, toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";

const MAINS_VOLTS = 230;  // India's mains: what a clamp's amps mean in watts

const TRANSPORTS = { serial: "link_cable", ble: "link_bluetooth", sim: "link_demo" };

export const Nodes = {
  components: shared,
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
    return { data, error, loading, reload, edit, startRename, saveName, setMains, linkWord, sensorWords, t, num, watts, ago, dateTime, state, isAdmin };
  },
  template: `
  <section>
    <h1>{{ t('sensors_title') }}</h1>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error" :error="error" @retry="reload"/>
    <div v-else-if="!data.nodes.length" class="card empty" data-testid="nodes-empty"><p>{{ t('sensors_none') }}</p><p class="small muted">{{ t('sensors_none_help') }}</p></div>
    <template v-else>
      <p class="small muted" data-testid="mains-line">{{ data.mains.length ? t('mains_some', { names: data.nodes.filter((n) => n.mains).map((n) => n.name).join(', ') }) : t('mains_all') }}</p>
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
          <dl class="facts">
            <dt>{{ t('node_now') }}</dt><dd>{{ watts(n.power_w) }}</dd>
            <dt>{{ t('last_seen') }}</dt><dd :title="dateTime(n.last_seen_ms)">{{ ago(n.last_seen_ms, state.now) }}</dd>
            <dt>{{ t('readings_missed') }}</dt><dd>{{ t('readings_missed_value', { n: n.frames_lost, pct: num(n.loss_pct, 1) }) }}</dd>
            <dt>{{ t('sensor_clamp') }}</dt><dd>{{ sensorWords(n) }}</dd>
            <dt>{{ t('node_connection') }}</dt><dd>{{ linkWord(n.transport) }}</dd>
            <dt>{{ t('energy_total') }}</dt><dd>{{ t('units_n', { n: num(n.energy_total_kwh, 1) }) }}</dd>
          </dl>
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
