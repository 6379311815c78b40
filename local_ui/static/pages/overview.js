// The Overview page.
import { computed, watch } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, inr, num, watts, dayOfIso, ago, time } from "../format.js";
import { state, go, toast } from "../store.js";
import { isAdmin, useLoad, Unavailable, Loading, ErrorBox, shared } from "./shared.js";

export const Overview = {
  components: shared,
  setup() {
    const { data, error, loading, reload } = useLoad(() => get("/overview"), { every: 30000 });
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
    const total = computed(() => {
      const live = state.live.house_power_w;
      return live !== undefined && state.live.ts_ms && state.now - state.live.ts_ms < 300000 ? live : data.value?.power_w ?? null;
    });
    const subCircuits = computed(() => nodes.value.filter((n) => n.metered === false).length);
    const liveAge = computed(() => (state.live.ts_ms ? state.now - state.liveReceivedAt : null));
    const bill = computed(() => data.value?.bill);
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
    return { data, error, loading, reload, nodes, total, subCircuits, state, t, inr, num, watts, ago, time, dayOfIso, liveAge, bill, budgetPct, projPct, go, takenBack, canStop, stopIgnoring };
  },
  template: `
  <section>
    <h1 class="sr-only">{{ t('nav_overview') }}</h1>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error && !data" :error="error" @retry="reload"/>
    <template v-else>
      <div class="grid hero-grid">
        <div class="card hero">
          <div class="card-title">{{ t('live_now') }} <span class="live-dot" :class="{ on: liveAge !== null && liveAge < 5000 }"></span></div>
          <div class="big" data-testid="live-total">{{ watts(total) }}</div>
          <div class="muted small" v-if="state.liveReceivedAt">{{ t('live_updated', { ago: ago(state.live.ts_ms, state.now) }) }}</div>
          <div class="muted small" v-else>{{ t('live_waiting') }}</div>
          <div class="muted small" v-if="subCircuits" data-testid="metered-note">{{ t('live_metered_only', { n: subCircuits }) }}</div>
        </div>
        <div class="card">
          <div class="card-title">{{ t('today_units') }}</div>
          <div class="big">{{ num(data.today_kwh, 2) }} <small>kWh</small></div>
          <div class="muted small">{{ t('today_units_sub') }}</div>
          <template v-if="data.today_cost != null">
            <div class="big-ish today-cost" data-testid="today-cost">{{ inr(data.today_cost) }}</div>
            <div class="muted small">{{ t('today_cost_sub') }}</div>
          </template>
        </div>
        <div class="card" data-testid="bill-card">
          <div class="card-title">{{ t('bill_till_date') }}</div>
          <Unavailable v-if="bill.unavailable" :reason="bill.unavailable"/>
          <template v-else>
            <div class="big">{{ inr(bill.bill_till_date) }}</div>
            <div class="muted small">{{ t('units_till_date', { units: num(Number(bill.units_till_date), 1) }) }}
              <span v-if="bill.cycle"> · {{ t('cycle_day', { day: bill.cycle.day_index, days: bill.cycle.days }) }}</span></div>
            <div class="slab-text small" v-if="bill.slab" data-testid="slab">{{ bill.slab.text }}</div>
            <div class="small text-warn" v-if="bill.cycle?.coverage_note" data-testid="coverage">{{ bill.cycle.coverage_note }}</div>
          </template>
        </div>
        <div class="card" v-if="!bill.unavailable && bill.projection">
          <div class="card-title">{{ t('projection') }}</div>
          <div class="big" :class="{ warn: bill.projected_over_budget }">{{ inr(bill.projection.bill) }}</div>
          <div class="muted small">{{ t('projection_sub', { units: num(Number(bill.projection.units), 0), date: dayOfIso(bill.cycle?.last_day) }) }}</div>
          <div class="muted small" v-if="bill.linear_projection">{{ t('projection_linear', { amount: inr(bill.linear_projection.bill) }) }}</div>
          <div v-if="budgetPct !== null" class="meter" :title="t('budget')">
            <div class="meter-fill" :style="{ width: budgetPct + '%' }"></div>
            <div class="meter-proj" :style="{ left: projPct + '%' }"></div>
          </div>
          <div class="small" v-if="bill.budget">{{ t('budget_of', { used: inr(bill.bill_till_date), budget: inr(bill.budget) }) }} ·
            <b :class="bill.projected_over_budget ? 'text-warn' : 'text-ok'">{{ bill.projected_over_budget ? t('budget_over') : t('budget_ok') }}</b></div>
          <a class="small" href="#/bill" v-else>{{ t('budget_none') }}</a>
        </div>
      </div>

      <div class="grid nodes-grid">
        <div v-for="n in nodes" :key="n.node_id" class="card node" :data-node="n.node_id">
          <div class="row between">
            <div class="card-title">{{ n.name }}</div>
            <span class="pill" :class="n.online ? 'ok' : 'bad'">{{ n.online ? t('node_online') : t('node_offline') }}</span>
          </div>
          <div class="big" data-testid="node-power">{{ watts(n.power_w) }}</div>
          <div class="muted small"><span v-if="n.irms_a != null">{{ num(n.irms_a, 2) }} A · </span><span v-if="n.vrms_v != null">{{ num(n.vrms_v, 0) }} V · </span>{{ ago(n.live_ts || n.last_seen_ms, state.now) }}</div>
        </div>
      </div>

      <div class="card setup-gaps" v-if="data.setup?.length" data-testid="setup-gaps">
        <div class="card-title">{{ t('setup_gaps_title') }}</div>
        <div v-for="g in data.setup" :key="g.key" class="setup-gap" :data-setup="g.key">
          <div class="small">{{ g.message }}</div>
          <div class="muted small">{{ g.action }}</div>
        </div>
      </div>

      <div class="grid two">
        <div class="card">
          <div class="card-title">{{ t('open_alerts') }}</div>
          <Unavailable v-if="data.alerts.unavailable" :reason="data.alerts.unavailable"/>
          <template v-else>
            <div class="big" :class="{ warn: data.alerts.open }">{{ data.alerts.open }}</div>
            <div class="muted small">{{ data.alerts.open ? t('open_alerts_some', { n: data.alerts.open }) : t('open_alerts_none') }}</div>
            <a class="button ghost small-btn" href="#/alerts">{{ t('view_alerts') }}</a>
          </template>
        </div>
        <div class="card">
          <div class="card-title">{{ t('model_title') }}</div>
          <Unavailable v-if="data.model.unavailable" :reason="data.model.unavailable"/>
          <template v-else>
            <div class="model-line" v-if="data.model.learning">{{ t('model_learning', { days: data.model.history_days, min: data.model.min_history_days }) }}</div>
            <div class="model-line" v-else>{{ t('model_active', { version: data.model.version }) }}</div>
            <div class="muted small" v-if="data.model.check_set.roc_auc">{{ t('model_figures', { auc: num(data.model.check_set.roc_auc, 2), days: data.model.history_days }) }}</div>
            <div class="small bad-text" v-if="data.model.problem" data-testid="model-problem">{{ data.model.problem }}</div>
            <div class="muted small" v-if="data.model.last_run_ms">{{ t('model_last_run', { when: ago(data.model.last_run_ms) }) }}</div>
            <div class="muted small" v-else>{{ t('model_not_run') }}</div>
            <div class="progress" v-if="data.model.learning"><div :style="{ width: Math.min(100, 100 * data.model.history_days / data.model.min_history_days) + '%' }"></div></div>
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
    </template>
  </section>`,
};
