// Alerts: the list, filters and Ignore / Raise / Resolve.
import { reactive, watch, nextTick } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, dateTime, ago } from "../format.js";
import { state, toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";

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
