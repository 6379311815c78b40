// Settings.
import { reactive, computed, watch } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, dateTime, ago } from "../format.js";
import { loadSession, toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";

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
