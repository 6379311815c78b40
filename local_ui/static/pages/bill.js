// Bill & payments.
import { ref, reactive, watch } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, inr, num, dateTime, dayOfIso } from "../format.js";
import { toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";

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
