// The pages except Usage: Overview, Bill & payments, Alerts, Nodes, Settings, Login, Setup.
import { ref, reactive, computed, onMounted, onUnmounted, watch, nextTick } from "./vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "./api.js";
import { t, inr, num, watts, dateTime, dayOfIso, ago, time } from "./format.js";
import { state, loadSession, go, toast } from "./store.js";

const isAdmin = () => state.session?.role === "admin";

// A tiny loader: data, error and a reload(), shared by every page.
function useLoad(fn, { every = 0 } = {}) {
  const data = ref(null), error = ref(null), loading = ref(true);
  let timer = null;
  async function reload() {
    try { data.value = await fn(); error.value = null; }
    catch (e) { error.value = e; }
    finally { loading.value = false; }
  }
  onMounted(() => { reload(); if (every) timer = setInterval(reload, every); });
  onUnmounted(() => clearInterval(timer));
  return { data, error, loading, reload };
}

// A part another piece of powergw provides can be missing: {unavailable: "why"}, or a 503.
const Unavailable = {
  props: ["reason"],
  setup: () => ({ t }),
  template: `<div class="unavailable"><b>{{ t('not_available') }}</b><span class="muted small">{{ reason }}</span></div>`,
};

const Loading = { setup: () => ({ t }), template: `<div class="loading"><span class="spinner"></span>{{ t('loading') }}</div>` };

const ErrorBox = {
  props: ["error"],
  emits: ["retry"],
  setup: () => ({ t }),
  template: `<div v-if="error && error.status === 503"><Unavailable :reason="error.message"/></div>
    <div v-else class="error-box">{{ t('error_generic', { message: error.message }) }} <button class="link" @click="$emit('retry')">{{ t('retry') }}</button></div>`,
  components: { Unavailable },
};

const shared = { Unavailable, Loading, ErrorBox };

// ---- Overview ---------------------------------------------------------------------------------

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

// ---- Bill & payments ---------------------------------------------------------------------------

function idempotencyKey() {
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const Bill = {
  components: shared,
  setup() {
    const bill = useLoad(() => get("/bill"));
    const balance = useLoad(() => get("/balance"));
    const payments = useLoad(() => get("/payments"));
    const bills = useLoad(() => get("/bills"));
    const budget = useLoad(() => get("/budget"));
    const budgetInput = ref("");
    watch(budget.data, (b) => { if (b && b.amount !== undefined) budgetInput.value = b.amount ?? ""; });
    const pay = reactive({ amount: "", method: "upi", reference: "", key: idempotencyKey(), qr: null, busy: false, error: null });
    function payFull() { pay.amount = balance.data.value?.balance > 0 ? balance.data.value.balance : ""; pay.qr = null; }
    async function showQr() {
      pay.error = null;
      try { pay.qr = await get("/payments/upi?amount=" + encodeURIComponent(pay.amount)); }
      catch (e) { pay.error = e.message; }
    }
    async function record() {
      pay.busy = true; pay.error = null;
      try {
        const body = { amount: pay.amount, method: pay.method };
        if (pay.reference) body.reference = pay.reference;
        const r = await api("POST", "/payments", body, { "Idempotency-Key": pay.key });
        toast(t("pay_recorded", { amount: inr(r.payment.amount) }));
        balance.data.value = r.balance;
        pay.amount = ""; pay.reference = ""; pay.qr = null; pay.key = idempotencyKey();
        payments.reload(); bill.reload();
      } catch (e) { pay.error = e.message; }
      finally { pay.busy = false; }
    }
    async function saveBudget() {
      try {
        await api("PUT", "/budget", { amount: String(budgetInput.value || "0") });
        toast(t("budget_saved"));
        budget.reload(); bill.reload();
      } catch (e) { toast(e.message, "bad"); }
    }
    const readings = useLoad(() => get("/meter-readings"));
    const meter = reactive({ mode: "reading", reading: "", billed_units: "", from: "", to: "", note: "", error: null, last: null });
    async function saveReading() {
      meter.error = null;
      const body = meter.mode === "reading" ? { reading: meter.reading } : { billed_units: meter.billed_units, from: meter.from, to: meter.to };
      if (meter.note) body.note = meter.note;
      try {
        meter.last = await api("POST", "/meter-readings", body);
        toast(meter.last.flagged ? t("meter_flagged") : t("meter_saved"), meter.last.flagged ? "bad" : "ok");
        meter.reading = meter.billed_units = meter.note = "";
        readings.reload();
      } catch (e) { meter.error = e.message; }
    }
    async function confirmPayment(p) {
      try { await api("POST", `/payments/${p.id}/confirm`, {}); payments.reload(); balance.reload(); }
      catch (e) { toast(e.message, "bad"); }
    }
    return { bill, balance, payments, bills, budget, budgetInput, pay, payFull, showQr, record, saveBudget, confirmPayment, readings, meter, saveReading, t, inr, num, dateTime, dayOfIso, isAdmin };
  },
  template: `
  <section>
    <h1>{{ t('bill_title') }}</h1>
    <div class="grid two">
      <div class="card">
        <div class="card-title">{{ t('bill_till_date') }}</div>
        <Loading v-if="bill.loading.value"/>
        <ErrorBox v-else-if="bill.error.value" :error="bill.error.value" @retry="bill.reload"/>
        <template v-else>
          <div class="big" data-testid="bill-total">{{ inr(bill.data.value.bill_till_date) }}</div>
          <div class="muted small">{{ t('units_till_date', { units: num(Number(bill.data.value.units_till_date), 1) }) }}</div>
          <div class="muted small" data-testid="bill-cycle">{{ t('bill_tariff_cycle', { tariff: bill.data.value.tariff, start: dayOfIso(bill.data.value.cycle.start), end: dayOfIso(bill.data.value.cycle.last_day) }) }}
            <a href="#/settings" v-if="isAdmin()">{{ t('change') }}</a></div>
          <div class="muted small" v-if="bill.data.value.net_metering || Number(bill.data.value.export_units) > 0" data-testid="bill-net">{{ t('bill_net_units', { imported: num(Number(bill.data.value.import_units), 1), exported: num(Number(bill.data.value.export_units), 1), net: num(Number(bill.data.value.net_units), 1) }) }}
            <span class="block text-warn" v-for="note in (Number(bill.data.value.export_units) > 0 ? bill.data.value.notes : [])" :key="note">{{ note }}</span></div>
          <div class="slab-text" v-if="bill.data.value.slab">{{ bill.data.value.slab.text }}</div>
          <div class="small text-warn" v-if="bill.data.value.cycle.coverage_note" data-testid="bill-coverage">{{ bill.data.value.cycle.coverage_note }}</div>
          <div class="projection-line" v-if="bill.data.value.projection">
            {{ t('projection') }}: <b>{{ inr(bill.data.value.projection.bill) }}</b>
            <span class="muted small block">{{ t('projection_sub', { units: num(Number(bill.data.value.projection.units), 0), date: dayOfIso(bill.data.value.cycle?.last_day) }) }}</span>
          </div>
          <h2 class="sub">{{ t('breakdown') }}</h2>
          <table class="table">
            <thead><tr><th>{{ t('slab') }}</th><th class="num">{{ t('units') }}</th><th class="num">{{ t('rate') }}</th><th class="num">{{ t('amount') }}</th></tr></thead>
            <tbody>
              <tr v-for="line in bill.data.value.breakdown"><td>{{ line.label }}</td><td class="num">{{ line.units ?? '' }}</td>
                <td class="num">{{ line.rate ? inr(line.rate) : '' }}</td><td class="num">{{ inr(line.amount) }}</td></tr>
            </tbody>
            <tfoot><tr><th colspan="3">{{ t('total') }}</th><th class="num">{{ inr(bill.data.value.bill_till_date) }}</th></tr></tfoot>
          </table>
        </template>
      </div>
      <div class="card" data-testid="balance-card">
        <div class="card-title">{{ t('balance') }}</div>
        <Loading v-if="balance.loading.value"/>
        <ErrorBox v-else-if="balance.error.value" :error="balance.error.value" @retry="balance.reload"/>
        <template v-else>
          <div class="big" data-testid="balance">{{ inr(String(balance.data.value.balance).replace('-', '')) }}</div>
          <div class="small" :class="Number(balance.data.value.balance) > 0 ? 'text-warn' : 'text-ok'">
            {{ Number(balance.data.value.balance) > 0 ? t('balance_owed') : Number(balance.data.value.balance) < 0 ? t('balance_credit') : t('balance_clear') }}</div>
          <form v-if="isAdmin()" class="pay-form" @submit.prevent="record">
            <h2 class="sub">{{ t('pay_title') }}</h2>
            <div class="row gap">
              <button type="button" class="button ghost" @click="payFull" :disabled="!(Number(balance.data.value.balance) > 0)">{{ t('pay_full') }}</button>
            </div>
            <label>{{ t('pay_amount') }}<input name="amount" v-model="pay.amount" inputmode="decimal" autocomplete="off" placeholder="500.00" required></label>
            <label>{{ t('pay_method') }}
              <select v-model="pay.method" name="method">
                <option v-for="m in ['upi','cash','card','netbanking','other']" :value="m">{{ t('method_' + m) }}</option>
              </select></label>
            <label v-if="pay.method === 'upi'">{{ t('pay_reference') }}<input v-model="pay.reference" name="reference" autocomplete="off"></label>
            <div class="row gap wrap">
              <button type="button" class="button ghost" v-if="pay.method === 'upi'" @click="showQr" :disabled="!pay.amount">{{ t('pay_show_qr') }}</button>
              <button class="button" :disabled="pay.busy || !pay.amount" data-testid="record-payment">{{ t('pay_record') }}</button>
            </div>
            <div v-if="pay.error" class="error-box">{{ pay.error }}</div>
            <div v-if="pay.qr" class="qr">
              <img :src="'data:image/svg+xml;utf8,' + encodeURIComponent(pay.qr.qr_svg)" alt="UPI QR code" width="200" height="200">
              <div class="small muted">{{ t('pay_qr_help') }}</div>
              <a class="small" :href="pay.qr.link">{{ pay.qr.vpa }}</a>
            </div>
          </form>
        </template>
      </div>
    </div>

    <div class="grid two">
      <div class="card">
        <div class="card-title">{{ t('budget_title') }}</div>
        <ErrorBox v-if="budget.error.value" :error="budget.error.value" @retry="budget.reload"/>
        <form v-else class="row gap wrap end" @submit.prevent="saveBudget">
          <label class="grow">{{ t('budget') }} (₹)<input name="budget" v-model="budgetInput" inputmode="decimal" :disabled="!isAdmin()" placeholder="2500"></label>
          <button class="button" v-if="isAdmin()" data-testid="save-budget">{{ t('save') }}</button>
        </form>
        <p class="muted small">{{ t('budget_help') }}</p>
      </div>
      <div class="card">
        <div class="card-title">{{ t('bills_history') }}</div>
        <ErrorBox v-if="bills.error.value" :error="bills.error.value" @retry="bills.reload"/>
        <p v-else-if="bills.data.value && !bills.data.value.bills.length" class="muted">{{ t('bills_none') }}</p>
        <table v-else-if="bills.data.value" class="table">
          <thead><tr><th>{{ t('date') }}</th><th class="num">{{ t('units') }}</th><th class="num">{{ t('amount') }}</th></tr></thead>
          <tbody><tr v-for="b in bills.data.value.bills"><td>{{ dayOfIso(b.cycle_start) }} – {{ dayOfIso(b.cycle_end) }}</td><td class="num">{{ b.units }}</td><td class="num">{{ inr(b.amount) }}</td></tr></tbody>
        </table>
        <a class="button ghost small-btn" href="/api/v1/export/bills.csv" download data-testid="export-bills">{{ t('export_bills') }}</a>
      </div>
    </div>

    <div class="card" data-testid="meter-card">
      <div class="card-title">{{ t('meter_title') }}</div>
      <p class="muted small">{{ t('meter_help') }}</p>
      <form v-if="isAdmin()" class="row gap wrap end" @submit.prevent="saveReading">
        <label>{{ t('meter_mode') }}<select v-model="meter.mode" name="meter-mode">
          <option value="reading">{{ t('meter_mode_reading') }}</option><option value="billed_units">{{ t('meter_mode_billed') }}</option></select></label>
        <label v-if="meter.mode === 'reading'">{{ t('meter_reading') }}<input name="meter-reading" v-model="meter.reading" inputmode="decimal" placeholder="12345.6" required></label>
        <template v-else>
          <label>{{ t('meter_billed_units') }}<input name="billed-units" v-model="meter.billed_units" inputmode="decimal" placeholder="463" required></label>
          <label>{{ t('meter_from') }}<input type="date" name="billed-from" v-model="meter.from" required></label>
          <label>{{ t('meter_to') }}<input type="date" name="billed-to" v-model="meter.to" required></label>
        </template>
        <label class="grow">{{ t('meter_note') }}<input name="meter-note" v-model="meter.note" maxlength="200"></label>
        <button class="button" data-testid="save-reading">{{ t('save') }}</button>
      </form>
      <div v-if="meter.error" class="error-box">{{ meter.error }}</div>
      <ErrorBox v-if="readings.error.value" :error="readings.error.value" @retry="readings.reload"/>
      <p v-else-if="readings.data.value && !readings.data.value.readings.length" class="muted">{{ t('meter_none') }}</p>
      <table v-else-if="readings.data.value" class="table" data-testid="meter-readings">
        <thead><tr><th>{{ t('date') }}</th><th>{{ t('meter_kind') }}</th><th class="num">kWh</th><th class="num">{{ t('meter_sensors') }}</th><th class="num">{{ t('meter_gap') }}</th><th></th></tr></thead>
        <tbody><tr v-for="r in readings.data.value.readings" :key="r.id" :title="r.message || ''">
          <td>{{ dayOfIso(r.date) }}<span v-if="r.period_start" class="muted small block">{{ t('meter_since', { date: dayOfIso(r.period_start) }) }}</span></td>
          <td>{{ t('meter_kind_' + r.kind) }}</td>
          <td class="num">{{ r.value_kwh }}</td>
          <td class="num">{{ r.sensor_kwh ?? '—' }}</td>
          <td class="num">{{ r.gap_pct === null ? '—' : r.gap_pct + ' %' }}</td>
          <td><span v-if="r.gap_pct !== null" class="pill" :class="r.flagged ? 'bad' : 'ok'">{{ r.flagged ? t('meter_mismatch') : t('meter_ok') }}</span>
            <a v-if="r.alert_id" class="small" href="#/alerts">{{ t('meter_alert', { id: r.alert_id }) }}</a></td>
        </tr></tbody>
      </table>
    </div>

    <div class="card">
      <div class="card-title">{{ t('payments_history') }}</div>
      <ErrorBox v-if="payments.error.value" :error="payments.error.value" @retry="payments.reload"/>
      <p v-else-if="payments.data.value && !payments.data.value.payments.length" class="muted">{{ t('payments_none') }}</p>
      <table v-else-if="payments.data.value" class="table" data-testid="payments">
        <thead><tr><th>{{ t('date') }}</th><th>{{ t('pay_method') }}</th><th>{{ t('status') }}</th><th class="num">{{ t('amount') }}</th><th></th></tr></thead>
        <tbody><tr v-for="p in payments.data.value.payments">
          <td>{{ dateTime(p.created_ms) }}</td><td>{{ t('method_' + p.method) }}</td>
          <td><span class="pill" :class="p.status === 'confirmed' ? 'ok' : 'warn'">{{ t('status_' + p.status) }}</span></td>
          <td class="num">{{ inr(p.amount) }}</td>
          <td><button v-if="isAdmin() && p.status === 'pending'" class="link" @click="confirmPayment(p)">{{ t('confirm') }}</button></td>
        </tr></tbody>
      </table>
      <a class="button ghost small-btn" href="/api/v1/export/payments.csv" download data-testid="export-payments">{{ t('export_payments') }}</a>
    </div>
  </section>`,
};

// ---- Alerts ------------------------------------------------------------------------------------

const STATE_FILTERS = ["open", "raised", "ignored", "resolved", "all"];

// What the page was opened for: #/alerts?state=ignored&alert=12 (the theft card's Ignored patterns link there).
function hashQuery() {
  return new URLSearchParams(location.hash.split("?")[1] || "");
}

const DONE_STATE = { ignore: "ignored", raise: "raised", resolve: "resolved" };

export const Alerts = {
  components: shared,
  setup() {
    const asked = hashQuery();
    const focusId = Number(asked.get("alert")) || null;
    const filter = reactive({ state: STATE_FILTERS.includes(asked.get("state")) ? asked.get("state") : "open", kind: "" });
    const { data, error, loading, reload } = useLoad(() => {
      const q = new URLSearchParams();
      if (filter.state !== "all") q.set("state", filter.state);
      if (filter.kind) q.set("kind", filter.kind);
      q.set("limit", "200");
      return get("/alerts?" + q);
    });
    watch(filter, reload);
    let focused = false;
    watch(data, async (d) => {
      if (d) state.alertsOpen = d.counts.open;
      if (d && focusId && !focused) {
        focused = true;
        await nextTick();
        document.querySelector(`[data-alert='${focusId}']`)?.scrollIntoView({ block: "center" });
      }
    });
    const acting = reactive({ id: null, action: null, comment: "" });
    const expanded = reactive({});
    function start(a, action) { acting.id = a.id; acting.action = action; acting.comment = ""; }
    async function act() {
      try {
        await api("POST", `/alerts/${acting.id}/${acting.action}`, { comment: acting.comment });
        toast(acting.action === "unignore" ? t("alert_unignored") : t("alert_done", { action: t("state_" + DONE_STATE[acting.action]).toLowerCase() }));
        acting.id = null;
        reload();
      } catch (e) { toast(e.message, "bad"); }
    }
    async function toggle(a) {
      if (expanded[a.id]) { delete expanded[a.id]; return; }
      expanded[a.id] = await get(`/alerts/${a.id}`);
    }
    // Stop ignoring a resolved alert is offered on the theft card's Ignored patterns, where its rule is
    // listed (only an alert whose last answer was Ignore may be un-ignored once resolved).
    const can = (a, action) => isAdmin() && data.value?.actions?.[action]?.includes(a.state) && (action !== "unignore" || a.state === "ignored");
    const numbers = (a) => Object.entries(a.data || {}).filter(([, v]) => v !== null && typeof v !== "object").slice(0, 8);
    return { filter, data, error, loading, reload, acting, start, act, can, numbers, expanded, toggle, focusId, STATE_FILTERS, t, dateTime, ago, state };
  },
  template: `
  <section>
    <h1>{{ t('alerts_title') }}</h1>
    <div class="filters">
      <div class="chips" role="group" :aria-label="t('filter_state')">
        <button v-for="s in STATE_FILTERS" :key="s" class="chip" :class="{ on: filter.state === s }" @click="filter.state = s" :data-filter="s">
          {{ t('state_' + s) }}<span v-if="data && s !== 'all'" class="count">{{ data.counts[s] }}</span></button>
      </div>
      <select v-model="filter.kind" :aria-label="t('filter_kind')" v-if="data">
        <option value="">{{ t('all_kinds') }}</option>
        <option v-for="(title, k) in data.kinds" :value="k">{{ title }}</option>
      </select>
    </div>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error" :error="error" @retry="reload"/>
    <p v-else-if="!data.alerts.length" class="empty">{{ t('alerts_none') }}</p>
    <div v-else class="alerts">
      <article v-for="a in data.alerts" :key="a.id" class="card alert" :class="['sev-' + a.severity, { focus: a.id === focusId }]" :data-alert="a.id">
        <div class="row between wrap">
          <div class="card-title">{{ data.kinds[a.kind] || a.kind }}</div>
          <span class="pill" :class="'st-' + a.state">{{ t('state_' + a.state) }}</span>
        </div>
        <p class="alert-msg">{{ a.message }}</p>
        <dl class="numbers" v-if="numbers(a).length">
          <template v-for="[k, v] in numbers(a)"><dt>{{ k.replace(/_/g, ' ') }}</dt><dd>{{ v }}</dd></template>
        </dl>
        <div class="muted small">{{ t('alert_seen', { first: dateTime(a.created_ms), last: ago(a.last_seen_ms, state.now) }) }}
          <span v-if="a.repeat_count > 1"> · {{ t('alert_repeats', { n: a.repeat_count }) }}</span>
          <span v-if="a.acted_by"> · {{ t('alert_by', { action: a.state === 'open' ? t('alert_reopened') : t('state_' + a.state), by: a.acted_by, when: ago(a.acted_ms, state.now) }) }}</span></div>
        <div class="muted small" v-if="a.action_comment">“{{ a.action_comment }}”</div>
        <div class="row gap wrap actions">
          <button class="button ghost" v-if="can(a, 'ignore')" @click="start(a, 'ignore')" data-action="ignore">{{ t('alert_ignore') }}</button>
          <button class="button ghost" v-if="can(a, 'unignore')" @click="start(a, 'unignore')" data-action="unignore">{{ t('alert_unignore') }}</button>
          <button class="button danger" v-if="can(a, 'raise')" @click="start(a, 'raise')" data-action="raise">{{ t('alert_raise') }}</button>
          <button class="button ghost" v-if="can(a, 'resolve')" @click="start(a, 'resolve')" data-action="resolve">{{ t('alert_resolve') }}</button>
          <button class="link" @click="toggle(a)">{{ t('alert_history') }}</button>
        </div>
        <form v-if="acting.id === a.id" class="act-form" @submit.prevent="act">
          <p class="small muted" v-if="acting.action !== 'resolve'">{{ t('alert_' + acting.action + '_help') }}</p>
          <label>{{ t('alert_comment') }}<textarea v-model="acting.comment" rows="2" maxlength="500" name="comment"></textarea></label>
          <div class="row gap"><button class="button" data-action="confirm">{{ t('alert_' + acting.action) }}</button>
            <button type="button" class="button ghost" @click="acting.id = null">{{ t('cancel') }}</button></div>
        </form>
        <ul v-if="expanded[a.id]" class="history">
          <li v-for="h in expanded[a.id].actions">{{ dateTime(h.ts_ms) }} — {{ t('alert_' + h.action) }} ({{ h.from_state }} → {{ h.to_state }}) by {{ h.by }}<span v-if="h.comment">: “{{ h.comment }}”</span></li>
          <li v-if="!expanded[a.id].actions.length" class="muted">—</li>
        </ul>
      </article>
    </div>
  </section>`,
};

// ---- Nodes ---------------------------------------------------------------------------------------

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

// ---- Settings --------------------------------------------------------------------------------------

// The keys the household may set, grouped by when a change takes effect. Values live in the gateway's
// database (the config file stays read-only); each shows where it comes from, with a reset to the file.
const GROUPS = [
  { id: "billing", title: "hs_billing", applies: "hs_applies_now", keys: ["billing.tariff", "billing.meter_reading_date", "billing.budget_inr", "billing.budget_period"] },
  { id: "email", title: "hs_email", applies: "hs_applies_email", keys: ["email.enabled", "email.to", "email.host", "email.port", "email.security", "email.username", "email.password"] },
];
// Sent as JSON numbers. The budget is sent as typed ("1,500", "2500.50"): the server reads it with
// the same money parser as the Bill page's budget.
const NUMBER_KEYS = new Set(["email.port"]);

const HouseholdSettings = {
  props: ["editable"],
  emits: ["changed"],
  setup(props, { emit }) {
    const byKey = computed(() => Object.fromEntries(props.editable.map((e) => [e.key, e])));
    const nodeKeys = computed(() => props.editable.filter((e) => e.node));
    const draft = reactive({});
    const errors = reactive({});
    const newKey = reactive({ node: "", key: "" });
    function fill() {
      for (const e of props.editable) {
        if (e.write_only) draft[e.key] = "";
        else if (Array.isArray(e.value)) draft[e.key] = e.value.join(", ");
        else draft[e.key] = e.value;
      }
    }
    watch(() => props.editable, fill, { immediate: true });
    const shown = (e) => (Array.isArray(e.value) ? e.value.join(", ") : String(e.value));
    function valueOf(key) {
      const v = draft[key];
      if (key === "email.to") return String(v || "").split(",").map((x) => x.trim()).filter(Boolean);
      if (NUMBER_KEYS.has(key)) return v === "" || v === null ? v : Number(v);
      return v;
    }
    function changed(key) {
      const e = byKey.value[key];
      if (!e) return false;
      if (e.write_only) return draft[key] !== "";
      return JSON.stringify(valueOf(key)) !== JSON.stringify(e.value) && !(key === "billing.budget_inr" && Number(draft[key]) === Number(e.value));
    }
    async function send(group, body) {
      errors[group] = null;
      try {
        await api("PATCH", "/settings", body);
        toast(t("hs_saved"));
        emit("changed");
      } catch (e) { errors[group] = e.message; }
    }
    function save(g) {
      const set = {};
      for (const k of g.keys) if (changed(k)) set[k] = valueOf(k);
      if (!Object.keys(set).length) { toast(t("hs_nothing")); return; }
      send(g.id, { set });
    }
    const reset = (group, key) => send(group, { reset: [key] });
    function addKey() { send("ble", { set: { ["ble.bindkeys." + newKey.node.trim()]: newKey.key.trim() } }).then(() => { if (!errors.ble) newKey.node = newKey.key = ""; }); }
    return { GROUPS, byKey, nodeKeys, draft, errors, newKey, shown, save, reset, addKey, t, isAdmin };
  },
  template: `
  <div class="card" data-testid="household-settings">
    <div class="card-title">{{ t('hs_title') }}</div>
    <p class="small muted">{{ t('hs_help') }}</p>
    <form v-for="g in GROUPS" :key="g.id" class="hs-group" @submit.prevent="save(g)">
      <h3>{{ t(g.title) }} <span class="pill">{{ t(g.applies) }}</span></h3>
      <div v-for="k in g.keys" :key="k" class="hs-row" v-show="byKey[k]">
        <template v-if="byKey[k]">
        <label>{{ t('hs_' + k.replace('.', '_')) }}
          <select v-if="byKey[k].choices" v-model="draft[k]" :name="k" :disabled="!isAdmin()">
            <option v-for="c in byKey[k].choices" :value="c">{{ c }}</option></select>
          <input v-else-if="typeof byKey[k].value === 'boolean'" type="checkbox" v-model="draft[k]" :name="k" :disabled="!isAdmin()">
          <input v-else-if="k === 'billing.meter_reading_date'" type="date" v-model="draft[k]" :name="k" :disabled="!isAdmin()">
          <input v-else-if="byKey[k].write_only" type="password" v-model="draft[k]" :name="k" autocomplete="new-password"
                 :placeholder="byKey[k].is_set ? t('hs_secret_set') : t('hs_secret_unset')" :disabled="!isAdmin()">
          <input v-else v-model="draft[k]" :name="k" :inputmode="k === 'billing.budget_inr' ? 'decimal' : k === 'email.port' ? 'numeric' : 'text'" :disabled="!isAdmin()">
        </label>
        <span class="small muted hs-source" :data-source="byKey[k].source">{{ t('hs_source_' + byKey[k].source) }}
          <span v-if="byKey[k].source === 'dashboard' && !byKey[k].write_only && byKey[k].file_value !== undefined"> · {{ t('hs_file_value', { value: shown({ value: byKey[k].file_value }) || '—' }) }}</span>
          <button type="button" class="link" v-if="isAdmin() && byKey[k].source === 'dashboard'" @click="reset(g.id, k)" :data-reset="k">{{ t('hs_reset') }}</button></span>
        </template>
      </div>
      <div v-if="errors[g.id]" class="error-box" role="alert">{{ errors[g.id] }}</div>
      <button class="button" v-if="isAdmin()" :data-testid="'save-' + g.id">{{ t('save') }}</button>
    </form>
    <div class="hs-group">
      <h3>{{ t('hs_ble') }} <span class="pill warn">{{ t('hs_applies_restart') }}</span></h3>
      <p class="small muted">{{ t('hs_ble_help') }}</p>
      <table class="table" v-if="nodeKeys.length"><tbody>
        <tr v-for="e in nodeKeys" :key="e.key"><td class="mono">{{ e.node }}</td><td>{{ t('hs_key_masked') }}</td><td class="small muted">{{ t('hs_source_' + e.source) }}</td>
          <td><button class="link" v-if="isAdmin() && e.source === 'dashboard'" @click="reset('ble', e.key)">{{ t('hs_reset') }}</button></td></tr>
      </tbody></table>
      <form v-if="isAdmin()" class="row gap wrap end" @submit.prevent="addKey">
        <label>{{ t('hs_ble_address') }}<input v-model="newKey.node" name="ble-address" placeholder="A4:CF:12:34:56:7A" autocomplete="off" required></label>
        <label class="grow">{{ t('hs_ble_key') }}<input type="password" v-model="newKey.key" name="ble-key" autocomplete="off" maxlength="32" required></label>
        <button class="button">{{ t('hs_ble_add') }}</button>
      </form>
      <div v-if="errors.ble" class="error-box" role="alert">{{ errors.ble }}</div>
    </div>
  </div>`,
};

export const Settings = {
  components: { ...shared, HouseholdSettings },
  setup() {
    const { data, error, loading, reload } = useLoad(() => get("/settings"));
    const newUser = reactive({ username: "", password: "", role: "viewer" });
    const newToken = reactive({ name: "", role: "viewer", created: null });
    const pw = reactive({ current_password: "", new_password: "" });
    async function run(fn, ok) {
      try { await fn(); if (ok) toast(ok); reload(); } catch (e) { toast(e.message, "bad"); }
    }
    const addUser = () => run(async () => { await api("POST", "/users", { ...newUser }); newUser.username = newUser.password = ""; }, null);
    const delUser = (u) => run(() => api("DELETE", `/users/${u.id}`), null);
    const addToken = () => run(async () => { newToken.created = await api("POST", "/tokens", { name: newToken.name, role: newToken.role }); newToken.name = ""; }, null);
    const revoke = (tk) => run(() => api("DELETE", `/tokens/${tk.id}`), null);
    const changePw = () => run(async () => { await api("PUT", "/me/password", { ...pw }); pw.current_password = pw.new_password = ""; await loadSession(); }, t("password_changed"));
    return { data, error, loading, reload, newUser, newToken, pw, addUser, delUser, addToken, revoke, changePw, t, dateTime, ago, isAdmin };
  },
  template: `
  <section>
    <h1>{{ t('settings_title') }}</h1>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error" :error="error" @retry="reload"/>
    <template v-else>
      <div class="grid two">
        <div class="card">
          <div class="card-title">{{ t('change_password') }}</div>
          <form class="stack" @submit.prevent="changePw">
            <label>{{ t('current_password') }}<input type="password" v-model="pw.current_password" autocomplete="current-password" required></label>
            <label>{{ t('new_password') }}<input type="password" v-model="pw.new_password" autocomplete="new-password" minlength="8" required></label>
            <button class="button">{{ t('save') }}</button>
          </form>
        </div>
        <div class="card">
          <div class="card-title">{{ t('timezone') }}</div>
          <div class="big-ish">{{ data.timezone }}</div>
          <p class="small"><a href="/api/v1/openapi.json" target="_blank" rel="noopener">{{ t('api_docs') }}</a></p>
          <p class="small muted" v-if="!isAdmin()">{{ t('viewer_note') }}</p>
        </div>
      </div>
      <HouseholdSettings v-if="data.editable" :editable="data.editable" @changed="reload"/>
      <div class="card" v-if="data.users">
        <div class="card-title">{{ t('settings_users') }}</div>
        <table class="table"><thead><tr><th>{{ t('username') }}</th><th>{{ t('role') }}</th><th>{{ t('created') }}</th><th></th></tr></thead>
          <tbody><tr v-for="u in data.users"><td>{{ u.username }}</td><td>{{ t('role_' + u.role) }}</td><td>{{ dateTime(u.created_ms) }}</td>
            <td><button class="link" v-if="u.username !== data.me.username" @click="delUser(u)">{{ t('delete') }}</button></td></tr></tbody></table>
        <form class="row gap wrap end" @submit.prevent="addUser">
          <label>{{ t('username') }}<input v-model="newUser.username" autocomplete="off" required></label>
          <label>{{ t('password') }}<input type="password" v-model="newUser.password" autocomplete="new-password" minlength="8" required></label>
          <label>{{ t('role') }}<select v-model="newUser.role"><option value="viewer">{{ t('role_viewer') }}</option><option value="admin">{{ t('role_admin') }}</option></select></label>
          <button class="button">{{ t('add_user') }}</button>
        </form>
      </div>
      <div class="card" v-if="data.tokens">
        <div class="card-title">{{ t('settings_tokens') }}</div>
        <p class="small muted">{{ t('tokens_help') }}</p>
        <div v-if="newToken.created" class="notice"><div>{{ t('token_created') }}</div><code class="mono">{{ newToken.created.token }}</code></div>
        <table class="table" v-if="data.tokens.length"><thead><tr><th>{{ t('token_name') }}</th><th>{{ t('role') }}</th><th>{{ t('last_used') }}</th><th></th></tr></thead>
          <tbody><tr v-for="tk in data.tokens"><td>{{ tk.name }}</td><td>{{ t('role_' + tk.role) }}</td><td>{{ tk.last_used_ms ? ago(tk.last_used_ms) : t('never') }}</td>
            <td><button class="link" @click="revoke(tk)">{{ t('revoke') }}</button></td></tr></tbody></table>
        <form class="row gap wrap end" @submit.prevent="addToken">
          <label>{{ t('token_name') }}<input v-model="newToken.name" autocomplete="off" required maxlength="64"></label>
          <label>{{ t('role') }}<select v-model="newToken.role"><option value="viewer">{{ t('role_viewer') }}</option><option value="admin">{{ t('role_admin') }}</option></select></label>
          <button class="button">{{ t('create_token') }}</button>
        </form>
      </div>
      <div class="card">
        <div class="card-title">{{ t('settings_config') }}</div>
        <p class="small muted">{{ t('settings_config_help', { source: data.config_source || 'built-in defaults' }) }}</p>
        <details v-for="(values, name) in data.sections" :key="name" class="config-section">
          <summary>[{{ name }}]</summary>
          <dl class="facts"><template v-for="(v, k) in values"><dt class="mono">{{ k }}</dt><dd class="mono">{{ Array.isArray(v) ? v.join(', ') || '—' : String(v) }}</dd></template></dl>
        </details>
      </div>
    </template>
  </section>`,
};

// ---- Login and first-time setup -------------------------------------------------------------------

export const Login = {
  setup() {
    const form = reactive({ username: "", password: "", error: null, busy: false });
    async function submit() {
      form.busy = true; form.error = null;
      try {
        await api("POST", "/session", { username: form.username, password: form.password });
        await loadSession();
        go("overview");
      } catch (e) {
        form.error = e.status === 401 ? t("login_failed") : e.message;
        await loadSession().catch(() => {});
      } finally { form.busy = false; }
    }
    return { form, submit, t, state };
  },
  template: `
  <div class="auth-card card">
    <img src="/static/icon.svg" alt="" width="56" height="56">
    <h1>{{ t('login_title') }}</h1>
    <p class="muted">{{ t('login_subtitle') }}</p>
    <form class="stack" @submit.prevent="submit">
      <label>{{ t('username') }}<input name="username" v-model="form.username" autocomplete="username" autocapitalize="none" required></label>
      <label>{{ t('password') }}<input name="password" type="password" v-model="form.password" autocomplete="current-password" required></label>
      <div v-if="form.error" class="error-box" role="alert">{{ form.error }}</div>
      <button class="button wide" :disabled="form.busy">{{ t('login_button') }}</button>
    </form>
    <a v-if="state.session?.setup_required" href="#/setup" class="small">{{ t('first_setup') }}</a>
  </div>`,
};

export const Setup = {
  setup() {
    const form = reactive({ code: "", username: "admin", password: "", error: null });
    async function submit() {
      form.error = null;
      try {
        await api("POST", "/setup", { code: form.code, username: form.username, password: form.password });
        await loadSession();
        go("overview");
      } catch (e) { form.error = e.message; }
    }
    return { form, submit, t };
  },
  template: `
  <div class="auth-card card">
    <img src="/static/icon.svg" alt="" width="56" height="56">
    <h1>{{ t('setup_title') }}</h1>
    <p class="muted small">{{ t('setup_help') }}</p>
    <form class="stack" @submit.prevent="submit">
      <label>{{ t('setup_code') }}<input name="code" v-model="form.code" autocomplete="one-time-code" placeholder="ABCD-EF23" required></label>
      <label>{{ t('username') }}<input name="username" v-model="form.username" autocomplete="username" required></label>
      <label>{{ t('password') }}<input name="password" type="password" v-model="form.password" autocomplete="new-password" minlength="8" required></label>
      <div v-if="form.error" class="error-box" role="alert">{{ form.error }}</div>
      <button class="button wide">{{ t('setup_button') }}</button>
    </form>
    <a href="#/login" class="small">{{ t('back_to_login') }}</a>
  </div>`,
};
