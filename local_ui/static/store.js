// Shared state of the dashboard: the session, the live stream and small UI helpers.
import { reactive } from "./vendor/vue/vue.esm-browser.prod.js";
import { get, setCsrf } from "./api.js";
import { setZone } from "./format.js";

export const state = reactive({
  session: null,       // {authenticated, user, role, csrf, timezone, setup_required}
  live: { nodes: {}, ts_ms: null, source: null },
  liveReceivedAt: null,
  streamError: null,  // when the live stream last failed; cleared when it is back
  route: "overview",
  alertsOpen: 0,
  now: Date.now(),
  toast: null,
});

// One live stream per tab, shared by every live widget on the page. EventSource reconnects by
// itself after a dropped connection, but gives up for good when the server refuses it (a 503 while
// all stream slots are taken): then this reopens it after a delay that grows to a minute.
let source = null;
let retryTimer = null;
let retryMs = 2000;
function openLive() {
  if (source) return;
  clearTimeout(retryTimer);
  source = new EventSource("/api/v1/live");
  source.addEventListener("live", (e) => {
    const data = JSON.parse(e.data);
    state.live = data;
    state.liveReceivedAt = Date.now();
    state.streamError = null;
    retryMs = 2000;
  });
  source.onopen = () => { state.streamError = null; };
  source.onerror = () => {
    if (!state.streamError) state.streamError = Date.now();
    if (source && source.readyState === EventSource.CLOSED) {
      source.close();
      source = null;
      retryTimer = setTimeout(() => { if (state.session?.authenticated) openLive(); }, retryMs);
      retryMs = Math.min(60000, retryMs * 2);
    }
  };
}
function closeLive() { clearTimeout(retryTimer); if (source) { source.close(); source = null; } }

export async function loadSession() {
  const s = await get("/session");
  state.session = s;
  setCsrf(s.csrf);
  setZone(s.timezone || "Asia/Kolkata");
  if (s.authenticated) openLive(); else closeLive();
  return s;
}

export function toast(message, kind = "ok") {
  state.toast = { message, kind };
  clearTimeout(toast._t);
  toast._t = setTimeout(() => (state.toast = null), 4000);
}

export function go(route) { location.hash = "#/" + route; }

