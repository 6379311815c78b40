// Login, first-time setup (the admin, then the household's answers), and the setup form the Settings page reuses.
import { reactive, ref, computed } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t } from "../format.js";
import { parseInr } from "../amount.js";
import { DatePick } from "./bill.js";
import { state, loadSession, go, toast } from "../store.js";
import { LanguagePicker } from "../language_picker.js";

export const Login = {
  components: { LanguagePicker },
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
    <LanguagePicker/>
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

// Which tariff a state's households are usually on (the shipped tariffs), to pick it with the state.
const STATE_TARIFF = { TN: "tn-", DL: "delhi-", KL: "kerala-" };

// The household's answers in one form: state and tariff, the meter-reading date and today's reading,
// budget, UPI ID, e-mail, what each sensor is called and which one measures the whole house. Each answer
// still at its built-in default says so; nothing is kept at a default without the page saying it.
export const HouseholdSetup = {
  components: { DatePick },
  emits: ["done"],
  setup(props, { emit }) {
    const info = ref(null), error = ref(null), busy = ref(false), saved = ref(null);
    const f = reactive({ holiday_state: "", tariff: "", meter_reading_date: "", meter_reading: "", budget: "", upi_vpa: "", upi_payee_name: "", email_to: "", names: {}, mains: "" });
    const touched = reactive({});
    async function load() {
      try {
        const h = await get("/household");
        info.value = h;
        const a = h.answers;
        Object.assign(f, {
          holiday_state: a.holiday_state.value, tariff: a.tariff.value, meter_reading_date: a.meter_reading_date.default ? "" : a.meter_reading_date.value,
          budget: a.budget.default || !Number(a.budget.value) ? "" : String(a.budget.value), upi_vpa: a.upi_vpa.value, upi_payee_name: a.upi_payee_name.value,
          email_to: (a.email_to.value || []).join(", "), mains: h.mains[0] || "",
        });
        f.names = Object.fromEntries(h.nodes.map((n) => [n.node_id, n.name]));
      } catch (e) { error.value = e.message; }
    }
    load();
    const isDefault = (name) => info.value?.defaults.includes(name) && !touched[name];
    function pickState() {
      touched.holiday_state = true;
      const prefix = STATE_TARIFF[f.holiday_state];
      const match = prefix && info.value.answers.tariff.choices.find((c) => c.startsWith(prefix));
      if (match) { f.tariff = match; touched.tariff = true; }
    }
    const tariffLabel = (c) => {
      const l = info.value.answers.tariff.labels[c];
      return l ? `${l.title} · ${l.cycle_months === 1 ? t("cycle_every_month") : t("cycle_every_n_months", { n: l.cycle_months })}` : c;
    };
    const stillDefault = computed(() => (info.value?.defaults || []).filter((d) => isDefault(d)));
    async function submit() {
      error.value = null; saved.value = null;
      const body = { holiday_state: f.holiday_state, tariff: f.tariff };
      if (f.meter_reading_date) body.meter_reading_date = f.meter_reading_date;
      if (f.meter_reading.trim()) body.meter_reading = f.meter_reading.trim();
      if (f.budget.trim()) {
        const b = parseInr(f.budget, { allowZero: true });
        if (b.error) { error.value = t(b.error, { typed: f.budget }); return; }
        body.budget = b.value;
      }
      for (const k of ["upi_vpa", "upi_payee_name", "email_to"]) if (String(f[k] || "").trim()) body[k] = String(f[k]).trim();
      const names = {};
      for (const n of info.value.nodes) if ((f.names[n.node_id] || "").trim() !== n.name) names[n.node_id] = (f.names[n.node_id] || "").trim();
      if (Object.keys(names).length) body.names = names;
      if (info.value.nodes.length > 1 && (touched.mains || info.value.defaults.includes("mains"))) body.mains = f.mains ? [f.mains] : [];
      busy.value = true;
      try {
        const r = await api("POST", "/household", body);
        saved.value = r;
        toast(t("setup_saved"));
        await load();
        Object.keys(touched).forEach((k) => delete touched[k]);
        emit("done", r);
      } catch (e) { error.value = e.message; }
      finally { busy.value = false; }
    }
    return { info, error, busy, saved, f, touched, isDefault, pickState, tariffLabel, stillDefault, submit, t };
  },
  template: `
  <form class="stack setup-form" @submit.prevent="submit" data-testid="household-setup" novalidate>
    <p class="small muted">{{ t('setup_minute_help') }}</p>
    <div v-if="!info && !error" class="loading"><span class="spinner"></span>{{ t('loading') }}</div>
    <template v-if="info">
      <fieldset>
        <legend>{{ t('setup_where') }}</legend>
        <label>{{ t('setup_state') }} <span v-if="isDefault('holiday_state')" class="pill warn">{{ t('setup_default') }}</span>
          <select name="holiday_state" v-model="f.holiday_state" @change="pickState">
            <option v-for="c in info.answers.holiday_state.choices" :value="c">{{ c ? t('india_state_' + c.toLowerCase()) : t('india_state_none') }}</option></select></label>
        <label>{{ t('setup_tariff') }} <span v-if="isDefault('tariff')" class="pill warn">{{ t('setup_default') }}</span>
          <select name="tariff" v-model="f.tariff" @change="touched.tariff = true">
            <option v-for="c in info.answers.tariff.choices" :value="c">{{ tariffLabel(c) }}</option></select></label>
      </fieldset>
      <fieldset>
        <legend>{{ t('setup_meter') }}</legend>
        <label>{{ t('setup_reading_date') }} <span v-if="isDefault('meter_reading_date')" class="pill warn">{{ t('setup_not_set') }}</span>
          <DatePick name="meter_reading_date" v-model="f.meter_reading_date" :label="t('setup_reading_date')" :max="info.today" @input="touched.meter_reading_date = true"/></label>
        <span class="small muted">{{ t('setup_reading_date_help') }}</span>
        <label>{{ t('setup_reading_now') }} <span v-if="isDefault('meter_reading')" class="pill warn">{{ t('setup_not_set') }}</span>
          <input name="meter_reading" v-model="f.meter_reading" inputmode="decimal" autocomplete="off" @input="touched.meter_reading = true"></label>
        <span class="small muted">{{ t('setup_reading_now_help') }}</span>
      </fieldset>
      <fieldset>
        <legend>{{ t('setup_money') }}</legend>
        <label>{{ t('budget_per_cycle') }} <span v-if="isDefault('budget')" class="pill warn">{{ t('setup_not_set') }}</span>
          <input name="budget" v-model="f.budget" inputmode="decimal" autocomplete="off" @input="touched.budget = true"></label>
        <span class="small muted">{{ t('amount_hint') }}</span>
        <label>{{ t('hs_billing_upi_vpa') }} <span v-if="isDefault('upi_vpa')" class="pill warn">{{ t('setup_not_set') }}</span>
          <input name="upi_vpa" v-model="f.upi_vpa" autocomplete="off" autocapitalize="none" @input="touched.upi_vpa = true"></label>
        <label>{{ t('hs_billing_upi_payee_name') }} <span v-if="isDefault('upi_payee_name')" class="pill warn">{{ t('setup_not_set') }}</span>
          <input name="upi_payee_name" v-model="f.upi_payee_name" autocomplete="off" @input="touched.upi_payee_name = true"></label>
        <span class="small muted">{{ t('hs_upi_help') }}</span>
        <label>{{ t('setup_email') }} <span v-if="isDefault('email_to')" class="pill warn">{{ t('setup_not_set') }}</span>
          <input name="email_to" type="email" v-model="f.email_to" autocomplete="email" @input="touched.email_to = true"></label>
      </fieldset>
      <fieldset v-if="info.nodes.length">
        <legend>{{ t('setup_sensors') }}</legend>
        <p class="small muted">{{ t('setup_sensors_help') }}</p>
        <div v-for="n in info.nodes" :key="n.node_id" class="setup-node" :data-node="n.node_id">
          <label>{{ t('setup_sensor_name', { reported: n.reported_name || n.node_id }) }}
            <input :name="'name-' + n.node_id" v-model="f.names[n.node_id]" maxlength="40" autocomplete="off" @input="touched.node_names = true"></label>
          <label v-if="info.nodes.length > 1" class="check"><input type="radio" name="mains" :value="n.node_id" v-model="f.mains" @change="touched.mains = true"> {{ t('setup_is_mains') }}</label>
        </div>
        <label v-if="info.nodes.length > 1" class="check"><input type="radio" name="mains" value="" v-model="f.mains" @change="touched.mains = true"> {{ t('setup_no_mains') }}</label>
        <span v-if="isDefault('mains')" class="pill warn">{{ t('setup_mains_default') }}</span>
      </fieldset>
      <p v-if="stillDefault.length" class="small text-warn" data-testid="setup-still-default">{{ t('setup_defaults_left', { list: stillDefault.map((d) => t('setup_q_' + d)).join(', ') }) }}</p>
      <p v-else class="small text-ok" data-testid="setup-all-set">{{ t('setup_complete') }}</p>
      <div v-if="error" class="error-box" role="alert">{{ error }}</div>
      <button class="button wide" :disabled="busy" data-testid="save-setup">{{ t('setup_save') }}</button>
    </template>
    <div v-else-if="error" class="error-box" role="alert">{{ error }}</div>
  </form>`,
};

export const Setup = {
  components: { HouseholdSetup, LanguagePicker },
  setup() {
    const form = reactive({ code: "", username: "admin", password: "", error: null, step: 1 });
    async function submit() {
      form.error = null;
      try {
        await api("POST", "/setup", { code: form.code, username: form.username, password: form.password });
        await loadSession();
        form.step = 2;  // the admin exists: now the household's answers, on this same page
      } catch (e) { form.error = e.message; }
    }
    const finish = () => go("overview");
    return { form, submit, finish, t };
  },
  template: `
  <div class="auth-card card" :class="{ wide: form.step === 2 }">
    <LanguagePicker/>
    <img src="/static/icon.svg" alt="" width="56" height="56">
    <template v-if="form.step === 1">
      <h1>{{ t('setup_title') }}</h1>
      <p class="muted small">{{ t('setup_help') }}</p>
      <form class="stack" @submit.prevent="submit">
        <label>{{ t('setup_code') }}<input name="code" v-model="form.code" autocomplete="one-time-code" aria-describedby="code-hint" required></label>
        <span id="code-hint" class="small muted">{{ t('setup_code_hint') }}</span>
        <label>{{ t('username') }}<input name="username" v-model="form.username" autocomplete="username" required></label>
        <label>{{ t('password') }}<input name="password" type="password" v-model="form.password" autocomplete="new-password" minlength="8" required></label>
        <div v-if="form.error" class="error-box" role="alert">{{ form.error }}</div>
        <button class="button wide">{{ t('setup_button') }}</button>
      </form>
      <a href="#/login" class="small">{{ t('back_to_login') }}</a>
    </template>
    <template v-else>
      <h1>{{ t('setup_minute_title') }}</h1>
      <p><button type="button" class="button ghost small-btn" @click="finish" data-testid="skip-setup">{{ t('setup_skip') }}</button></p>
      <HouseholdSetup @done="finish"/>
    </template>
  </div>`,
};
