// What every page shares: the admin check, a loader, and the unavailable/loading/error boxes.
import { ref, onMounted, onUnmounted } from "../vendor/vue/vue.esm-browser.prod.js";
import { t } from "../format.js";
import { state } from "../store.js";

export const isAdmin = () => state.session?.role === "admin";

// A tiny loader: data, error and a reload(), shared by every page.
export function useLoad(fn, { every = 0 } = {}) {
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
export const Unavailable = {
  props: ["reason"],
  setup: () => ({ t }),
  template: `<div class="unavailable"><b>{{ t('not_available') }}</b><span class="muted small">{{ reason }}</span></div>`,
};

export const Loading = { setup: () => ({ t }), template: `<div class="loading"><span class="spinner"></span>{{ t('loading') }}</div>` };

export const ErrorBox = {
  props: ["error"],
  emits: ["retry"],
  setup: () => ({ t }),
  template: `<div v-if="error && error.status === 503"><Unavailable :reason="error.message"/></div>
    <div v-else class="error-box">{{ t('error_generic', { message: error.message }) }} <button class="link" @click="$emit('retry')">{{ t('retry') }}</button></div>`,
  components: { Unavailable },
};

export const shared = { Unavailable, Loading, ErrorBox };
