// Login and first-time setup.
import { reactive } from "../vendor/vue/vue.esm-browser.prod.js";
import { api } from "../api.js";
import { t, time } from "../format.js";
import { state, loadSession, go } from "../store.js";
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

export const Setup = {
  components: { LanguagePicker },
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
    <LanguagePicker/>
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
