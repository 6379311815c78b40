// Settings in household words: the bill, UPI, alert e-mails, users; the technical ones (mail server,
// Bluetooth keys, API tokens, the config file, the API description) under "Advanced".
import { reactive, computed, watch } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, inr, num, dateTime, ago } from "../format.js";
import { loadSession, toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";
import { HouseholdSetup } from "./login.js";
import { DatePick } from "./bill.js";

// The keys the household may set, grouped by when a change takes effect. Values live in the gateway's
// database (the config file stays read-only); each shows where it comes from, with a reset to the file.
const GROUPS = [
  { id: "billing", title: "hs_billing", applies: "hs_applies_now", keys: ["billing.tariff", "billing.holiday_state", "billing.meter_reading_date", "billing.budget_inr", "billing.budget_period"] },
  { id: "upi", title: "hs_upi", applies: "hs_applies_now", help: "hs_upi_help", keys: ["billing.upi_vpa", "billing.upi_payee_name"] },
  { id: "email", title: "hs_email", applies: "hs_applies_email", keys: ["email.enabled", "email.to"] },
];
const ADVANCED_GROUPS = [
  { id: "mailserver", title: "hs_mailserver", applies: "hs_applies_email", help: "hs_mailserver_help", keys: ["email.host", "email.port", "email.security", "email.username", "email.password"] },
];

// A value a picker offers, in words: a tariff's title and how often it bills, a state's name.
export function choiceLabel(key, value, labels) {
  if (key === "billing.tariff" && labels?.[value]) {
    const l = labels[value];
    return `${l.title} · ${every(l.cycle_months)}`;
  }
  if (key === "billing.holiday_state") return value ? t("india_state_" + value.toLowerCase()) : t("india_state_none");
  if (key === "billing.budget_period") return t("budget_period_" + value);
  return value;
}

// A server notice ({key, params}) as a sentence, its amounts and counts formatted here.
const every = (months) => (months === 1 ? t("cycle_every_month") : t("cycle_every_n_months", { n: months }));

export function noticeText(n) {
  const p = { ...n.params };
  if (n.key === "notice_cycle_changed") { p.before = every(p.before); p.after = every(p.after); }
  for (const k of ["spent", "budget", "projected"]) if (p[k] !== undefined) p[k] = inr(p[k]);
  if (p.spent_pct !== undefined) p.pct = num(p.spent_pct, 0);
  const text = t(n.key, p);
  return n.key === "notice_budget_checked" ? text + " " + (n.params.projected_over ? t("budget_checked_over") : t("budget_checked_ok")) : text;
}
// Sent as JSON numbers. The budget is sent as typed ("1,500", "2500.50"): the server reads it with
// the same money parser as the Bill page's budget.
const NUMBER_KEYS = new Set(["email.port"]);

const HouseholdSettings = {
  components: { DatePick },
  props: ["editable", "groups", "testid"],
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
    const notices = reactive({});
    async function send(group, body) {
      errors[group] = null; notices[group] = null;
      try {
        const r = await api("PATCH", "/settings", body);
        notices[group] = (r.notices || []).map(noticeText);
        toast(t("hs_saved"));
        emit("changed");
      } catch (e) { errors[group] = e.message; }
    }
    // Switching tariff to one with another cycle length is said before saving, never done silently.
    const cycleWarning = computed(() => {
      const e = byKey.value["billing.tariff"];
      if (!e || !e.labels || draft["billing.tariff"] === e.value) return null;
      const now = e.labels[e.value], next = e.labels[draft["billing.tariff"]];
      if (!now || !next || now.cycle_months === next.cycle_months) return null;
      return t("tariff_cycle_warning", { title: next.title, after: every(next.cycle_months), before: every(now.cycle_months) });
    });
    function save(g) {
      const set = {};
      for (const k of g.keys) if (changed(k)) set[k] = valueOf(k);
      if (!Object.keys(set).length) { toast(t("hs_nothing")); return; }
      send(g.id, { set });
    }
    const reset = (group, key) => send(group, { reset: [key] });
    function addKey() { send("ble", { set: { ["ble.bindkeys." + newKey.node.trim()]: newKey.key.trim() } }).then(() => { if (!errors.ble) newKey.node = newKey.key = ""; }); }
    const shownValue = (k) => {
      const e = byKey.value[k];
      if (!e) return "";
      if (e.choices) return choiceLabel(k, e.file_value, e.labels);
      return shown({ value: e.file_value });
    };
    return { byKey, nodeKeys, draft, errors, notices, newKey, shown, shownValue, save, reset, addKey, cycleWarning, choiceLabel, t, isAdmin };
  },
  template: `
  <div :data-testid="testid">
    <form v-for="g in groups" :key="g.id" class="hs-group" @submit.prevent="save(g)" :data-group="g.id">
      <h3>{{ t(g.title) }} <span class="pill">{{ t(g.applies) }}</span></h3>
      <p v-if="g.help" class="small muted">{{ t(g.help) }}</p>
      <div v-for="k in g.keys" :key="k" class="hs-row" v-show="byKey[k]">
        <template v-if="byKey[k]">
        <label>{{ t('hs_' + k.replace('.', '_')) }}
          <select v-if="byKey[k].choices" v-model="draft[k]" :name="k" :disabled="!isAdmin()">
            <option v-for="c in byKey[k].choices" :value="c">{{ choiceLabel(k, c, byKey[k].labels) }}</option></select>
          <input v-else-if="typeof byKey[k].value === 'boolean'" type="checkbox" v-model="draft[k]" :name="k" :disabled="!isAdmin()">
          <DatePick v-else-if="k === 'billing.meter_reading_date'" v-model="draft[k]" :name="k" :label="t('hs_' + k.replace('.', '_'))" :disabled="!isAdmin()"/>
          <input v-else-if="byKey[k].write_only" type="password" v-model="draft[k]" :name="k" autocomplete="new-password"
                 :placeholder="byKey[k].is_set ? t('hs_secret_set') : t('hs_secret_unset')" :disabled="!isAdmin()">
          <input v-else v-model="draft[k]" :name="k" autocomplete="off" :inputmode="k === 'billing.budget_inr' ? 'decimal' : k === 'email.port' ? 'numeric' : k === 'email.to' ? 'email' : 'text'" :disabled="!isAdmin()">
        </label>
        <span class="small muted hs-source" :data-source="byKey[k].source"><span :class="{ 'text-warn': byKey[k].source === 'default' }">{{ t('hs_source_' + byKey[k].source) }}</span>
          <span v-if="byKey[k].source === 'dashboard' && !byKey[k].write_only && byKey[k].file_value !== undefined"> · {{ t('hs_file_value', { value: shownValue(k) || '—' }) }}</span>
          <button type="button" class="link" v-if="isAdmin() && byKey[k].source === 'dashboard'" @click="reset(g.id, k)" :data-reset="k">{{ t('hs_reset') }}</button></span>
        </template>
      </div>
      <p v-if="g.id === 'billing' && cycleWarning" class="small text-warn" data-testid="cycle-warning" role="status">{{ cycleWarning }}</p>
      <div v-if="errors[g.id]" class="error-box" role="alert">{{ errors[g.id] }}</div>
      <p v-for="n in notices[g.id] || []" class="notice small" data-testid="settings-notice">{{ n }}</p>
      <button class="button" v-if="isAdmin()" :data-testid="'save-' + g.id">{{ t('save') }}</button>
    </form>
    <div class="hs-group" v-if="groups[0].id === 'mailserver'">
      <h3>{{ t('hs_ble') }} <span class="pill warn">{{ t('hs_applies_restart') }}</span></h3>
      <p class="small muted">{{ t('hs_ble_help') }}</p>
      <table class="table" v-if="nodeKeys.length"><tbody>
        <tr v-for="e in nodeKeys" :key="e.key"><td class="mono">{{ e.node }}</td><td>{{ t('hs_key_masked') }}</td><td class="small muted">{{ t('hs_source_' + e.source) }}</td>
          <td><button class="link" v-if="isAdmin() && e.source === 'dashboard'" @click="reset('ble', e.key)">{{ t('hs_reset') }}</button></td></tr>
      </tbody></table>
      <form v-if="isAdmin()" class="row gap wrap end" @submit.prevent="addKey">
        <label>{{ t('hs_ble_address') }}<input v-model="newKey.node" name="ble-address" autocomplete="off" required></label>
        <label class="grow">{{ t('hs_ble_key') }}<input type="password" v-model="newKey.key" name="ble-key" autocomplete="off" maxlength="32" required></label>
        <button class="button">{{ t('hs_ble_add') }}</button>
      </form>
      <div v-if="errors.ble" class="error-box" role="alert">{{ errors.ble }}</div>
    </div>
  </div>`,
};

export const Settings = {
  components: { ...shared, HouseholdSettings, HouseholdSetup },
  setup() {
    const { data, error, loading, reload } = useLoad(() => get("/settings"));
    const household = useLoad(() => get("/household"));
    const view = reactive({ setupOpen: /[?&]setup\b/.test(location.hash) });
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
    async function setupDone() { await household.reload(); view.setupOpen = false; reload(); }
    function changed() { reload(); household.reload(); }
    return { data, error, loading, reload, household, view, setupDone, changed, GROUPS, ADVANCED_GROUPS, newUser, newToken, pw, addUser, delUser, addToken, revoke, changePw, t, dateTime, ago, isAdmin };
  },
  template: `
  <section>
    <h1>{{ t('settings_title') }}</h1>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error" :error="error" @retry="reload"/>
    <template v-else>
      <div class="card" v-if="isAdmin() && household.data.value" data-testid="setup-card">
        <h2 class="card-title">{{ t('setup_minute_title') }}</h2>
        <HouseholdSetup v-if="view.setupOpen" @done="setupDone"/>
        <template v-else>
          <p v-if="household.data.value.complete" class="small text-ok">{{ t('setup_complete') }}</p>
          <p v-else class="small text-warn" data-testid="setup-defaults">{{ t('setup_defaults_left', { list: household.data.value.defaults.map((d) => t('setup_q_' + d)).join(', ') }) }}</p>
          <button class="button" :class="{ ghost: household.data.value.complete }" @click="view.setupOpen = true" data-testid="open-setup">{{ household.data.value.complete ? t('setup_again') : t('setup_now') }}</button>
        </template>
      </div>
      <div class="card" data-testid="household-settings">
        <h2 class="card-title">{{ t('hs_title') }}</h2>
        <p class="small muted">{{ t('hs_help') }}</p>
        <HouseholdSettings v-if="data.editable" :editable="data.editable" :groups="GROUPS" testid="household-form" @changed="changed"/>
      </div>
      <div class="grid two">
        <div class="card">
          <h2 class="card-title">{{ t('change_password') }}</h2>
          <form class="stack" @submit.prevent="changePw">
            <label>{{ t('current_password') }}<input type="password" v-model="pw.current_password" autocomplete="current-password" required></label>
            <label>{{ t('new_password') }}<input type="password" v-model="pw.new_password" autocomplete="new-password" minlength="8" required></label>
            <button class="button">{{ t('save') }}</button>
          </form>
          <p class="small muted" v-if="!isAdmin()">{{ t('viewer_note') }}</p>
        </div>
        <div class="card" v-if="data.users">
          <h2 class="card-title">{{ t('settings_users') }}</h2>
          <p class="small muted">{{ t('users_help') }}</p>
          <table class="table"><thead><tr><th>{{ t('username') }}</th><th>{{ t('role') }}</th><th>{{ t('created') }}</th><th><span class="sr-only">{{ t('actions') }}</span></th></tr></thead>
            <tbody><tr v-for="u in data.users"><td>{{ u.username }}</td><td>{{ t('role_words_' + u.role) }}</td><td>{{ dateTime(u.created_ms) }}</td>
              <td><button class="link" v-if="u.username !== data.me.username" @click="delUser(u)">{{ t('delete') }}</button></td></tr></tbody></table>
          <form class="row gap wrap end" @submit.prevent="addUser">
            <label>{{ t('username') }}<input v-model="newUser.username" autocomplete="off" required></label>
            <label>{{ t('password') }}<input type="password" v-model="newUser.password" autocomplete="new-password" minlength="8" required></label>
            <label>{{ t('role') }}<select v-model="newUser.role"><option value="viewer">{{ t('role_words_viewer') }}</option><option value="admin">{{ t('role_words_admin') }}</option></select></label>
            <button class="button">{{ t('add_user') }}</button>
          </form>
        </div>
      </div>
      <details class="card advanced" data-testid="advanced">
        <summary><h2 class="card-title inline">{{ t('advanced_title') }}</h2> <span class="small muted">{{ t('advanced_help') }}</span></summary>
        <dl class="facts"><dt>{{ t('timezone') }}</dt><dd>{{ data.timezone }}</dd></dl>
        <HouseholdSettings v-if="data.editable" :editable="data.editable" :groups="ADVANCED_GROUPS" testid="advanced-form" @changed="changed"/>
        <div v-if="data.tokens" class="hs-group">
          <h3>{{ t('settings_tokens') }}</h3>
          <p class="small muted">{{ t('tokens_help') }}</p>
          <div v-if="newToken.created" class="notice"><div>{{ t('token_created') }}</div><code class="mono">{{ newToken.created.token }}</code></div>
          <table class="table" v-if="data.tokens.length"><thead><tr><th>{{ t('token_name') }}</th><th>{{ t('role') }}</th><th>{{ t('last_used') }}</th><th><span class="sr-only">{{ t('actions') }}</span></th></tr></thead>
            <tbody><tr v-for="tk in data.tokens"><td>{{ tk.name }}</td><td>{{ t('role_words_' + tk.role) }}</td><td>{{ tk.last_used_ms ? ago(tk.last_used_ms) : t('never') }}</td>
              <td><button class="link" @click="revoke(tk)">{{ t('revoke') }}</button></td></tr></tbody></table>
          <form class="row gap wrap end" @submit.prevent="addToken">
            <label>{{ t('token_name') }}<input v-model="newToken.name" autocomplete="off" required maxlength="64"></label>
            <label>{{ t('role') }}<select v-model="newToken.role"><option value="viewer">{{ t('role_words_viewer') }}</option><option value="admin">{{ t('role_words_admin') }}</option></select></label>
            <button class="button">{{ t('create_token') }}</button>
          </form>
        </div>
        <div class="hs-group">
          <h3>{{ t('settings_config') }}</h3>
          <p class="small muted">{{ t('settings_config_help', { source: data.config_source || t('config_builtin') }) }}</p>
          <p class="small"><a href="/api/v1/openapi.json" target="_blank" rel="noopener">{{ t('api_docs') }}</a></p>
          <details v-for="(values, name) in data.sections" :key="name" class="config-section">
            <summary>[{{ name }}]</summary>
            <dl class="facts"><template v-for="(v, k) in values"><dt class="mono">{{ k }}</dt><dd class="mono">{{ Array.isArray(v) ? v.join(', ') || '—' : String(v) }}</dd></template></dl>
          </details>
        </div>
      </details>
    </template>
  </section>`,
};
