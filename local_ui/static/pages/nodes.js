// The Nodes page.
import { get } from "../api.js";
import { t, num, watts, dateTime, ago } from "../format.js";
import { state } from "../store.js";
import { useLoad, Loading, ErrorBox, shared } from "./shared.js";

export const Nodes = {
  components: shared,
  setup() {
    const { data, error, loading, reload } = useLoad(() => get("/nodes"), { every: 10000 });
    return { data, error, loading, reload, t, num, watts, ago, dateTime, state };
  },
  template: `
  <section>
    <h1>{{ t('nodes_title') }}</h1>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error" :error="error" @retry="reload"/>
    <p v-else-if="!data.nodes.length" class="empty">{{ t('nodes_none') }}</p>
    <div v-else class="grid nodes-grid">
      <div v-for="n in data.nodes" :key="n.node_id" class="card">
        <div class="row between"><div class="card-title">{{ n.name }}</div>
          <span class="pill" :class="n.online ? 'ok' : 'bad'">{{ n.online ? t('node_online') : t('node_offline') }}</span></div>
        <div class="mono small muted">{{ n.node_id }}</div>
        <dl class="facts">
          <dt>{{ t('last_seen') }}</dt><dd :title="dateTime(n.last_seen_ms)">{{ ago(n.last_seen_ms, state.now) }}</dd>
          <dt>{{ t('frames_lost') }}</dt><dd>{{ n.frames_lost }} ({{ num(n.loss_pct, 2) }} %)</dd>
          <dt>{{ t('firmware') }}</dt><dd>{{ n.fw || '—' }}</dd>
          <dt>{{ t('calibration') }}</dt><dd>{{ n.calibrated ? t('calibrated', { mv: num(n.mv_per_a, 1), amps: n.sensor_amps }) : t('uncalibrated') }}</dd>
          <dt>{{ t('reboots') }}</dt><dd>{{ n.reboots }}</dd>
          <dt>{{ t('energy_total') }}</dt><dd>{{ num(n.energy_total_kwh, 2) }} kWh</dd>
          <dt>{{ t('transport') }}</dt><dd>{{ n.transport || '—' }}</dd>
        </dl>
      </div>
    </div>
  </section>`,
};
