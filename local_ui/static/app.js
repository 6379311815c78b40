// The dashboard shell: session, live stream, hash router, navigation. Pages live in pages/ (re-exported by pages.js)
// (and usage.js, loaded only when the Usage page opens, with the chart library).
import { createApp, computed, defineAsyncComponent } from "./vendor/vue/vue.esm-browser.prod.js";
import { api } from "./api.js";
import { t, ago } from "./format.js";
import { state, loadSession, go } from "./store.js";
import { Overview, Bill, Alerts, Nodes, Settings, Login, Setup } from "./pages.js";
import { startLanguage, onLanguageChange } from "./i18n.js";
import { LanguagePicker } from "./language_picker.js";

const Usage = defineAsyncComponent(() => import("./usage.js").then((m) => m.Usage));

const ROUTES = {
  overview: Overview, usage: Usage, bill: Bill, alerts: Alerts, nodes: Nodes, settings: Settings, login: Login, setup: Setup,
};
const NAV = [
  ["overview", "nav_overview", "M3 12l9-8 9 8M5 10v10h5v-6h4v6h5V10"],
  ["usage", "nav_usage", "M4 20V10M10 20V4M16 20v-7M22 20H2"],
  ["bill", "nav_bill", "M6 2h12v20l-3-2-3 2-3-2-3 2V2zM9 7h6M9 11h6M9 15h4"],
  ["alerts", "nav_alerts", "M12 3a6 6 0 00-6 6v4l-2 3h16l-2-3V9a6 6 0 00-6-6zM10 19a2 2 0 004 0"],
  ["nodes", "nav_nodes", "M5 12a7 7 0 0114 0M8.5 12a3.5 3.5 0 017 0M12 12v9"],
  ["settings", "nav_settings", "M12 8a4 4 0 100 8 4 4 0 000-8zM2 12h3M19 12h3M12 2v3M12 19v3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1"],
];

function routeFromHash() {
  const name = (location.hash.replace(/^#\/?/, "").split("?")[0] || "overview");
  return ROUTES[name] ? name : "overview";
}

const Shell = {
  components: { LanguagePicker },
  setup() {
    const page = computed(() => ROUTES[state.route]);
    const authed = computed(() => state.session?.authenticated);
    const liveTotal = computed(() => state.live.house_power_w ?? null);  // the gateway's house total
    async function logout() {
      await api("DELETE", "/session").catch(() => {});
      await loadSession();
      go("login");
    }
    return { state, page, authed, NAV, t, logout, liveTotal, ago };
  },
  template: `
  <div class="app" :class="{ bare: !authed }">
    <header v-if="authed" class="topbar">
      <a class="brand" href="#/overview"><img src="/static/icon.svg" alt="" width="28" height="28"><span>{{ t('app_name') }}</span></a>
      <nav class="tabs" aria-label="Pages">
        <a v-for="[name, label, icon] in NAV" :key="name" :href="'#/' + name" :class="{ active: state.route === name }" :data-nav="name">
          <svg viewBox="0 0 24 24" aria-hidden="true"><path :d="icon"/></svg>
          <span>{{ t(label) }}</span>
          <b v-if="name === 'alerts' && state.alertsOpen" class="badge">{{ state.alertsOpen }}</b>
        </a>
      </nav>
      <div class="who">
        <LanguagePicker/>
        <span class="muted small">{{ t('signed_in_as', { user: state.session.user, role: t('role_' + state.session.role) }) }}</span>
        <button class="link" @click="logout">{{ t('logout') }}</button>
      </div>
    </header>
    <div v-if="authed && state.streamError && state.now - state.streamError > 4000" class="banner warn">{{ t('offline_banner') }}</div>
    <main :class="authed ? 'page' : 'page narrow'">
      <component :is="page" :key="state.route" />
    </main>
    <div v-if="state.toast" class="toast" :class="state.toast.kind" role="status">{{ state.toast.message }}</div>
  </div>`,
};

async function start() {
  window.addEventListener("hashchange", () => route());
  window.addEventListener("pgw-logged-out", async () => { await loadSession().catch(() => {}); go("login"); });
  setInterval(() => (state.now = Date.now()), 1000);
  try { await loadSession(); } catch (e) { state.session = { authenticated: false }; }
  await startLanguage(state.session.language);
  onLanguageChange(() => route());
  route();
  createApp(Shell).mount("#app");
}

function route() {
  const want = routeFromHash();
  const authed = state.session?.authenticated;
  if (!authed && want !== "login" && want !== "setup") {
    state.route = state.session?.setup_required ? "setup" : "login";
  } else if (authed && (want === "login" || want === "setup")) {
    state.route = "overview";
  } else {
    state.route = want;
  }
  document.title = `${t("nav_" + (state.route === "bill" ? "bill_long" : state.route)) || ""} · ${t("app_name")}`;
}

export function refreshRoute() { route(); }

start();
