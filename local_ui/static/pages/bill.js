// Bill & payments: what is due now (for which bill, by when) kept apart from this cycle's running estimate,
// payments waiting for confirmation, the UPI QR with payee and amount, the budget, meter readings.
import { reactive, watch, computed } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, inr, num, dateTime, dayOfIso } from "../format.js";
import { parseInr } from "../amount.js";
import { toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";

function idempotencyKey() {
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

// A number of units as the bill prints it: "40", "12.5", "3.25" (at most two decimals).
function units(raw) {
  const decimals = Math.min(2, (String(raw).split(".")[1] || "").length);
  return num(Number(raw), decimals);
}
const KINDS = { units, inr: (x) => inr(x), days: (x) => num(Number(x), 1), iso: dayOfIso, tariff_method: (m) => t("tariff_method_" + m) };
// A sentence the server sends as {key, params, formats} (the bill's slab line, coverage note and notes, the
// overview's setup gaps): units, rupees, days and dates it marks put in this page's language and formats.
export function sentence(s) {
  if (!s) return "";
  const params = { ...(s.params || {}) };
  for (const [name, [kind, raw]] of Object.entries(s.formats || {})) if (KINDS[kind]) params[name] = KINDS[kind](raw);
  return t(s.key, params);
}

// A date field that reads "5 Feb 2027" whatever the browser's language (as Usage's): the native date input
// lies over the words, so a click or tap opens its picker and typing still works; its accessible name says
// the label and the date. v-model gives and takes the ISO date; `input` is passed on.
export const DatePick = {
  props: { modelValue: { type: String, default: "" }, name: String, label: String, max: String, disabled: Boolean, required: Boolean },
  emits: ["update:modelValue", "input"],
  setup(props, { emit }) {
    const shown = computed(() => (props.modelValue ? dayOfIso(props.modelValue) : t("date_choose")));
    const pick = (e) => { try { e.target.showPicker?.(); } catch (err) { /* the field still takes typing */ } };
    const set = (e) => { emit("update:modelValue", e.target.value); emit("input", e); };
    return { shown, pick, set };
  },
  template: `<span class="date-pick" :data-testid="name + '-pick'"><span aria-hidden="true">{{ shown }}</span><input type="date" :name="name"
    :value="modelValue" :max="max" :disabled="disabled" :required="required" :aria-label="label + ': ' + shown" @input="set" @click="pick"></span>`,
};

// The day after a cycle's last day: when its bill is made.
function dayAfter(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

// What the balance means, in one headline and one line under it: owed (for which bill, by when),
// in credit, or nothing due (with the cycle so far, which is not a bill yet).
function standing(bal, bill) {
  if (!bal) return null;
  const cycle = bill && !bill.error ? { amount: inr(bill.bill_till_date), date: dayOfIso(dayAfter(bill.cycle.last_day)) } : null;
  if (bal.state === "owed") {
    const d = bal.due;
    const head = t("due_now_head", { amount: inr(d.amount) });
    if (!d.bill_id) return { head, sub: t("due_now_nobill"), kind: "warn" };
    const forBill = t("due_for_bill", { start: dayOfIso(d.cycle_start), end: dayOfIso(d.cycle_last_day) });
    if (d.overdue) return { head, sub: forBill + " " + t("due_overdue", { date: dayOfIso(d.due_date), n: -d.days_left }), kind: "bad" };
    const when = d.days_left === 0 ? t("due_today") : d.days_left === 1 ? t("due_tomorrow") : t("due_in_days", { n: d.days_left });
    return { head, sub: forBill + " " + t("due_by", { date: dayOfIso(d.due_date), when }), kind: "warn" };
  }
  const so_far = cycle ? t("cycle_so_far_line", cycle) : "";
  if (bal.state === "credit") return { head: t("credit_head", { amount: inr(bal.credit) }), sub: t("credit_sub") + (so_far ? " " + so_far : ""), kind: "ok" };
  return { head: t("nothing_due"), sub: so_far, kind: "ok" };
}

export const Bill = {
  components: { ...shared, DatePick },
  setup() {
    const bill = useLoad(() => get("/bill"));
    const balance = useLoad(() => get("/balance"));
    const payments = useLoad(() => get("/payments"));
    const bills = useLoad(() => get("/bills"));
    const budget = useLoad(() => get("/budget"));
    const now = computed(() => standing(balance.data.value, bill.data.value));
    const pending = computed(() => (payments.data.value?.payments || []).filter((p) => p.status === "pending"));
    // Summed from the list it is shown with (in paise, as integers), so the two never disagree mid-reload.
    const pendingTotal = computed(() => {
      const paise = pending.value.reduce((sum, p) => { const [r, f = ""] = p.amount.split("."); return sum + Number(r) * 100 + Number((f + "00").slice(0, 2)); }, 0);
      return `${Math.floor(paise / 100)}.${String(paise % 100).padStart(2, "0")}`;
    });
    const budgetForm = reactive({ text: "", typed: false, error: null, check: null });
    // The saved budget fills the box, unless someone has typed in it before it arrived.
    watch(budget.data, (b) => {
      if (b && b.amount !== undefined && !budgetForm.typed) budgetForm.text = b.amount ? inr(b.amount).replace("₹", "").replace(/\.00$/, "") : "";
    });
    const pay = reactive({ amount: "", method: "upi", reference: "", key: idempotencyKey(), qr: null, busy: false, error: null });
    function payFull() { pay.amount = balance.data.value?.state === "owed" ? inr(balance.data.value.balance).replace("₹", "") : ""; pay.qr = null; }
    function amountOrError(text, opts) {
      const r = parseInr(text, opts);
      return r.error ? { error: t(r.error, { typed: text }) } : r;
    }
    async function showQr() {
      pay.error = null; pay.qr = null;
      const a = amountOrError(pay.amount);
      if (a.error) { pay.error = a.error; return; }
      try { pay.qr = await get("/payments/upi?amount=" + encodeURIComponent(a.value)); }
      catch (e) { pay.error = e.message; }
    }
    async function record() {
      pay.error = null;
      const a = amountOrError(pay.amount);
      if (a.error) { pay.error = a.error; return; }
      pay.busy = true;
      try {
        const body = { amount: a.value, method: pay.method };
        if (pay.reference) body.reference = pay.reference;
        const r = await api("POST", "/payments", body, { "Idempotency-Key": pay.key });
        toast(r.payment.status === "pending" ? t("pay_recorded_pending", { amount: inr(r.payment.amount) }) : t("pay_recorded", { amount: inr(r.payment.amount) }));
        pay.amount = ""; pay.reference = ""; pay.qr = null; pay.key = idempotencyKey();
        payments.reload(); balance.reload(); bills.reload();
      } catch (e) { pay.error = e.message; }
      finally { pay.busy = false; }
    }
    async function saveBudget() {
      budgetForm.error = null; budgetForm.check = null;
      const a = amountOrError(budgetForm.text || "0", { allowZero: true });
      if (a.error) { budgetForm.error = a.error; return; }
      try {
        const r = await api("PUT", "/budget", { amount: a.value });
        budgetForm.typed = false;
        toast(t("budget_saved"));
        budgetForm.check = r.check;
        budget.reload(); bill.reload();
      } catch (e) { budgetForm.error = e.message; }
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
    async function settle(p, how) {
      try {
        await api("POST", `/payments/${p.id}/${how}`, {});
        toast(how === "confirm" ? t("pay_confirmed", { amount: inr(p.amount) }) : t("pay_cancelled", { amount: inr(p.amount) }));
        payments.reload(); balance.reload();
      } catch (e) { toast(e.message, "bad"); }
    }
    return { bill, balance, payments, bills, budget, budgetForm, now, pending, pendingTotal, pay, payFull, showQr, record, saveBudget, settle, readings, meter, saveReading, sentence, t, inr, num, dateTime, dayOfIso, isAdmin };
  },
  template: `
  <section>
    <h1>{{ t('bill_title') }}</h1>
    <div v-if="balance.data.value && balance.data.value.reminders.length && balance.data.value.due" class="banner-card" :class="balance.data.value.due.overdue ? 'bad' : 'warn'" data-testid="bill-reminders" role="status">
      <b>{{ balance.data.value.due.overdue ? t('reminder_overdue') : t('reminder_due') }}</b>
      {{ t('reminder_text', { amount: inr(balance.data.value.due.amount), date: dayOfIso(balance.data.value.due.due_date) }) }}
      <a href="#/alerts">{{ t('reminder_alerts') }}</a>
    </div>
    <div class="grid two">
      <div class="card" data-testid="balance-card">
        <h2 class="card-title">{{ t('due_title') }}</h2>
        <Loading v-if="balance.loading.value"/>
        <ErrorBox v-else-if="balance.error.value" :error="balance.error.value" @retry="balance.reload"/>
        <template v-else>
          <div class="big" :class="'text-' + now.kind" data-testid="balance" :data-state="balance.data.value.state">{{ now.head }}</div>
          <p class="small" data-testid="due-line">{{ now.sub }}</p>
          <div v-if="pending.length" class="notice" data-testid="pending">
            <p><b>{{ t('pending_head', { amount: inr(pendingTotal), n: pending.length }) }}</b></p>
            <p class="small">{{ t('pending_help') }}</p>
            <ul class="plain">
              <li v-for="p in pending" :key="p.id" class="row gap wrap" :data-pending="p.id">
                <span>{{ t('pending_item', { amount: inr(p.amount), when: dateTime(p.created_ms), method: t('method_' + p.method) }) }}</span>
                <template v-if="isAdmin()">
                  <button class="button small-btn" @click="settle(p, 'confirm')" data-action="confirm-payment">{{ t('pending_confirm') }}</button>
                  <button class="button ghost small-btn" @click="settle(p, 'cancel')" data-action="cancel-payment">{{ t('pending_cancel') }}</button>
                </template>
              </li>
            </ul>
          </div>
          <form v-if="isAdmin()" class="pay-form" @submit.prevent="record" novalidate>
            <h3 class="sub">{{ t('pay_title') }}</h3>
            <div class="row gap" v-if="balance.data.value.state === 'owed'">
              <button type="button" class="button ghost" @click="payFull">{{ t('pay_full_amount', { amount: inr(balance.data.value.balance) }) }}</button>
            </div>
            <label>{{ t('pay_amount') }}<input name="amount" v-model="pay.amount" inputmode="decimal" autocomplete="off" aria-describedby="pay-hint" required></label>
            <span id="pay-hint" class="small muted">{{ t('amount_hint') }}</span>
            <label>{{ t('pay_method') }}
              <select v-model="pay.method" name="method">
                <option v-for="m in ['upi','cash','card','netbanking','other']" :value="m">{{ t('method_' + m) }}</option>
              </select></label>
            <label v-if="pay.method === 'upi'">{{ t('pay_reference') }}<input v-model="pay.reference" name="reference" autocomplete="off"></label>
            <p v-if="pay.method === 'upi'" class="small muted">{{ t('pay_upi_pending_note') }}</p>
            <div class="row gap wrap">
              <button type="button" class="button ghost" v-if="pay.method === 'upi' && balance.data.value.upi_ready" @click="showQr" :disabled="!pay.amount" data-testid="show-qr">{{ t('pay_show_qr') }}</button>
              <button class="button" :disabled="pay.busy || !pay.amount" data-testid="record-payment">{{ t('pay_record') }}</button>
            </div>
            <p v-if="pay.method === 'upi' && !balance.data.value.upi_ready" class="small" data-testid="upi-not-set">{{ t('upi_not_set') }} <a href="#/settings">{{ t('upi_set_link') }}</a></p>
            <div v-if="pay.error" class="error-box" role="alert">{{ pay.error }}</div>
            <div v-if="pay.qr" class="qr" data-testid="upi-qr">
              <img :src="'data:image/svg+xml;utf8,' + encodeURIComponent(pay.qr.qr_svg)" :alt="t('qr_alt', { amount: inr(pay.qr.amount), payee: pay.qr.payee })" width="200" height="200">
              <dl class="facts qr-facts">
                <dt>{{ t('qr_payee') }}</dt><dd data-testid="qr-payee">{{ pay.qr.payee }}</dd>
                <dt>{{ t('qr_amount') }}</dt><dd class="big-ish" data-testid="qr-amount">{{ inr(pay.qr.amount) }}</dd>
                <dt>{{ t('qr_upi_id') }}</dt><dd><a :href="pay.qr.link">{{ pay.qr.vpa }}</a></dd>
              </dl>
              <p class="small muted">{{ t('pay_qr_help') }}</p>
            </div>
          </form>
        </template>
      </div>
      <div class="card">
        <h2 class="card-title">{{ t('cycle_so_far_title') }}</h2>
        <Loading v-if="bill.loading.value"/>
        <ErrorBox v-else-if="bill.error.value" :error="bill.error.value" @retry="bill.reload"/>
        <template v-else>
          <div class="big" data-testid="bill-total">{{ inr(bill.data.value.bill_till_date) }}</div>
          <p class="small muted">{{ t('cycle_not_a_bill', { date: dayOfIso(bill.data.value.cycle.last_day) }) }}</p>
          <div class="muted small">{{ t('units_till_date', { units: num(Number(bill.data.value.units_till_date), 1) }) }}</div>
          <div class="muted small" data-testid="bill-cycle">{{ t('bill_tariff_cycle_words', { tariff: bill.data.value.tariff_title, every: t(bill.data.value.cycle_months === 1 ? 'cycle_every_month' : 'cycle_every_n_months', { n: bill.data.value.cycle_months }), start: dayOfIso(bill.data.value.cycle.start), end: dayOfIso(bill.data.value.cycle.last_day) }) }}
            <a href="#/settings" v-if="isAdmin()">{{ t('change') }}</a></div>
          <div class="muted small" v-if="bill.data.value.net_metering || Number(bill.data.value.export_units) > 0" data-testid="bill-net">{{ t('bill_net_units', { imported: num(Number(bill.data.value.import_units), 1), exported: num(Number(bill.data.value.export_units), 1), net: num(Number(bill.data.value.net_units), 1) }) }}
            <span class="block text-warn" v-for="(note, i) in (Number(bill.data.value.export_units) > 0 ? bill.data.value.note_sentences : [])" :key="i" data-testid="bill-note">{{ sentence(note) }}</span></div>
          <div class="slab-text" v-if="bill.data.value.slab" data-testid="bill-slab">{{ sentence(bill.data.value.slab.sentence) }}</div>
          <div class="small text-warn" v-if="bill.data.value.cycle.coverage_sentence" data-testid="bill-coverage">{{ sentence(bill.data.value.cycle.coverage_sentence) }}</div>
          <div class="projection-line" v-if="bill.data.value.projection">
            {{ t('projection') }}: <b>{{ inr(bill.data.value.projection.bill) }}</b>
            <span class="muted small block">{{ t('projection_sub', { units: num(Number(bill.data.value.projection.units), 0), date: dayOfIso(bill.data.value.cycle?.last_day) }) }}</span>
          </div>
          <h3 class="sub">{{ t('breakdown') }}</h3>
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
    </div>

    <div class="grid two">
      <div class="card">
        <h2 class="card-title">{{ t('budget_title') }}</h2>
        <ErrorBox v-if="budget.error.value" :error="budget.error.value" @retry="budget.reload"/>
        <form v-else class="row gap wrap end" @submit.prevent="saveBudget" novalidate>
          <label class="grow">{{ t('budget_per_cycle') }}<input name="budget" v-model="budgetForm.text" @input="budgetForm.typed = true" inputmode="decimal" :disabled="!isAdmin()" aria-describedby="budget-hint" autocomplete="off"></label>
          <button class="button" v-if="isAdmin()" data-testid="save-budget">{{ t('save') }}</button>
        </form>
        <p id="budget-hint" class="small muted">{{ budget.data.value && !budget.data.value.amount ? t('budget_none_yet') : t('amount_hint') }}</p>
        <div v-if="budgetForm.error" class="error-box" role="alert">{{ budgetForm.error }}</div>
        <p v-if="budgetForm.check" class="small" :class="budgetForm.check.projected_over ? 'text-warn' : 'text-ok'" data-testid="budget-check">
          {{ t('budget_checked', { spent: inr(budgetForm.check.spent), budget: inr(budgetForm.check.budget), pct: num(budgetForm.check.spent_pct, 0), projected: inr(budgetForm.check.projected) }) }}
          {{ budgetForm.check.projected_over ? t('budget_checked_over') : t('budget_checked_ok') }}</p>
        <p class="muted small">{{ t('budget_help') }}</p>
      </div>
      <div class="card">
        <h2 class="card-title">{{ t('bills_history') }}</h2>
        <ErrorBox v-if="bills.error.value" :error="bills.error.value" @retry="bills.reload"/>
        <p v-else-if="bills.data.value && !bills.data.value.bills.length" class="muted">{{ t('bills_none') }}</p>
        <table v-else-if="bills.data.value" class="table">
          <thead><tr><th>{{ t('bill_period') }}</th><th class="num">{{ t('units') }}</th><th class="num">{{ t('amount') }}</th><th>{{ t('bill_due_col') }}</th></tr></thead>
          <tbody><tr v-for="b in bills.data.value.bills"><td>{{ dayOfIso(b.cycle_start) }} – {{ dayOfIso(b.cycle_end) }}</td><td class="num">{{ b.units }}</td><td class="num">{{ inr(b.amount) }}</td><td>{{ dayOfIso(b.due_date) }}</td></tr></tbody>
        </table>
        <a class="button ghost small-btn" href="/api/v1/export/bills.csv" download data-testid="export-bills">{{ t('export_bills') }}</a>
      </div>
    </div>

    <div class="card" data-testid="meter-card">
      <h2 class="card-title">{{ t('meter_title') }}</h2>
      <p class="muted small">{{ t('meter_help') }}</p>
      <form v-if="isAdmin()" class="row gap wrap end" @submit.prevent="saveReading">
        <label>{{ t('meter_mode') }}<select v-model="meter.mode" name="meter-mode">
          <option value="reading">{{ t('meter_mode_reading') }}</option><option value="billed_units">{{ t('meter_mode_billed') }}</option></select></label>
        <label v-if="meter.mode === 'reading'">{{ t('meter_reading') }}<input name="meter-reading" v-model="meter.reading" inputmode="decimal" autocomplete="off" required></label>
        <template v-else>
          <label>{{ t('meter_billed_units') }}<input name="billed-units" v-model="meter.billed_units" inputmode="decimal" autocomplete="off" required></label>
          <label class="date-field">{{ t('meter_from') }}<DatePick name="billed-from" v-model="meter.from" :label="t('meter_from')" required/></label>
          <label class="date-field">{{ t('meter_to') }}<DatePick name="billed-to" v-model="meter.to" :label="t('meter_to')" required/></label>
        </template>
        <label class="grow">{{ t('meter_note') }}<input name="meter-note" v-model="meter.note" maxlength="200"></label>
        <button class="button" data-testid="save-reading">{{ t('save') }}</button>
      </form>
      <p v-if="isAdmin()" class="small muted">{{ t('meter_reading_hint') }}</p>
      <div v-if="meter.error" class="error-box" role="alert">{{ meter.error }}</div>
      <ErrorBox v-if="readings.error.value" :error="readings.error.value" @retry="readings.reload"/>
      <p v-else-if="readings.data.value && !readings.data.value.readings.length" class="muted">{{ t('meter_none') }}</p>
      <table v-else-if="readings.data.value" class="table" data-testid="meter-readings">
        <thead><tr><th>{{ t('date') }}</th><th>{{ t('meter_kind') }}</th><th class="num">{{ t('units') }}</th><th class="num">{{ t('meter_sensors') }}</th><th class="num">{{ t('meter_gap') }}</th><th>{{ t('meter_result') }}</th></tr></thead>
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
      <h2 class="card-title">{{ t('payments_history') }}</h2>
      <ErrorBox v-if="payments.error.value" :error="payments.error.value" @retry="payments.reload"/>
      <p v-else-if="payments.data.value && !payments.data.value.payments.length" class="muted">{{ t('payments_none') }}</p>
      <table v-else-if="payments.data.value" class="table" data-testid="payments">
        <thead><tr><th>{{ t('date') }}</th><th>{{ t('pay_method') }}</th><th>{{ t('status') }}</th><th class="num">{{ t('amount') }}</th></tr></thead>
        <tbody><tr v-for="p in payments.data.value.payments" :data-payment="p.id">
          <td>{{ dateTime(p.created_ms) }}</td><td>{{ t('method_' + p.method) }}</td>
          <td><span class="pill" :class="p.status === 'confirmed' ? 'ok' : p.status === 'pending' ? 'warn' : ''">{{ t('pay_status_' + p.status) }}</span></td>
          <td class="num">{{ inr(p.amount) }}</td>
        </tr></tbody>
      </table>
      <a class="button ghost small-btn" href="/api/v1/export/payments.csv" download data-testid="export-payments">{{ t('export_payments') }}</a>
    </div>
  </section>`,
};
