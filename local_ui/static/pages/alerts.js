// Alerts in plain words: what happened, a small chart of the flagged hours against a usual day, the
// answers that fit each kind, what to do after Raise, and the numbers only under "Details".
import { reactive, watch, nextTick } from "../vendor/vue/vue.esm-browser.prod.js";
import { api, get } from "../api.js";
import { t, dateTime, ago, dayOfIso, todayIso, watts } from "../format.js";
import { state, toast } from "../store.js";
import { isAdmin, useLoad, Loading, ErrorBox, shared } from "./shared.js";

const STATE_FILTERS = ["open", "raised", "ignored", "resolved", "all"];
// The words on each answer's button and in its confirmation, by action.
const DONE = { ignore: "alert_done_ignore", unignore: "alert_unignored", raise: "alert_done_raise", resolve: "alert_done_resolve" };

// What the page was opened for: #/alerts?state=ignored&alert=12 (the theft card's Ignored patterns link there).
function hashQuery() {
  return new URLSearchParams(location.hash.split("?")[1] || "");
}

// An hour of the day in this language's words: 1 -> "1 am", 0 and 24 -> "12 am".
const hourOfDay = (h) => `${h % 12 === 0 ? 12 : h % 12} ${t(h % 24 < 12 ? "time_am" : "time_pm")}`;
const FORMATS = { hour: hourOfDay, day_ms: (ms) => dayOfIso(todayIso(ms)), time_ms: dateTime, iso: dayOfIso };
// A sentence from the API ({key, params, formats}): hours and dates it marks are put in this language's words.
export function say(s) {
  if (!s) return "";
  const params = { ...(s.params || {}) };
  for (const [name, [kind, raw]] of Object.entries(s.formats || {})) if (FORMATS[kind]) params[name] = FORMATS[kind](raw);
  return t(s.key, params);
}

// The small chart: the flagged days' watts per hour against a usual day's, the flagged hours shaded.
const W = 360, H = 130, PAD = { l: 46, r: 22, t: 10, b: 22 };
// The axis' top: the largest value rounded up to 1, 2 or 5 times a power of ten (1,540 W -> 2,000 W).
function niceTop(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((n) => n >= v);
}
export const AlertChart = {
  props: ["chart"],
  setup(props) {
    const c = props.chart;
    const values = [...c.flagged_w, ...c.usual_w].filter((v) => v !== null);
    const top = niceTop(Math.max(100, ...values) * 1.05);
    const x = (k) => PAD.l + (k * (W - PAD.l - PAD.r)) / 23;
    const y = (v) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / top);
    const line = (series) => series.map((v, k) => (v === null ? null : `${x(k).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean).join(" ");
    const band = c.hours.map((h, k) => (c.band_hours.includes(h) ? k : null)).filter((k) => k !== null);
    const shade = band.length ? { x: x(Math.max(0, band[0] - 0.5)), w: x(Math.min(23, band[band.length - 1] + 0.5)) - x(Math.max(0, band[0] - 0.5)) } : null;
    const ticks = [0, 6, 12, 18].map((k) => ({ x: x(k), label: hourOfDay(c.hours[k]) }));
    const alt = t(c.days.length === 1 ? "alert_chart_alt_one" : "alert_chart_alt", {
      from: hourOfDay(c.hours[band[0] ?? 0]), to: hourOfDay(c.hours[((band[band.length - 1] ?? 23) + 1) % 24]),
      flagged: watts(c.flagged_band_w), usual: watts(c.usual_band_w), days: c.days.length,
    });
    return { W, H, PAD, top, y, flagged: line(c.flagged_w), usual: line(c.usual_w), shade, ticks, alt, t, watts };
  },
  template: `
  <figure class="alert-chart">
    <svg :viewBox="'0 0 ' + W + ' ' + H" aria-hidden="true">
      <rect v-if="shade" :x="shade.x" :y="PAD.t" :width="shade.w" :height="H - PAD.t - PAD.b" class="band"/>
      <line :x1="PAD.l" :x2="W - PAD.r" :y1="H - PAD.b" :y2="H - PAD.b" class="axis"/>
      <text :x="PAD.l - 4" :y="PAD.t + 4" text-anchor="end" class="tick">{{ top >= 1000 ? t('alert_chart_kw', { n: top / 1000 }) : watts(top) }}</text>
      <text :x="PAD.l - 4" :y="H - PAD.b" text-anchor="end" class="tick">0</text>
      <text v-for="k in ticks" :x="k.x" :y="H - 6" :text-anchor="k.x === PAD.l ? 'start' : 'middle'" class="tick">{{ k.label }}</text>
      <polyline :points="usual" class="usual"/>
      <polyline :points="flagged" class="flagged"/>
    </svg>
    <figcaption class="small muted">
      <span class="legend"><span class="key flagged-key"></span>{{ t(chart.days.length === 1 ? 'alert_chart_flagged_one' : 'alert_chart_flagged', { n: chart.days.length }) }}</span>
      <span class="legend"><span class="key usual-key"></span>{{ t('alert_chart_usual') }}</span>
      <span class="chart-text" data-testid="alert-chart-text">{{ alt }}</span>
    </figcaption>
  </figure>`,
};

// After "this is not mine": what the household can do, with the evidence to take.
export const NextSteps = {
  props: ["alert"],
  setup(props) {
    const ev = props.alert.view?.evidence;
    const csv = ev ? `/api/v1/export/readings.csv?from=${ev.from_day}&to=${ev.to_day}` : null;
    const f = props.alert.summary?.formats || {};
    const days = ev && { from: dayOfIso(ev.from_day), to: dayOfIso(ev.to_day) };
    const when = !days ? say(props.alert.summary)
      : f.from?.[0] === "hour" && f.to?.[0] === "hour" ? t("alert_next_when", { ...days, from_hour: hourOfDay(f.from[1]), to_hour: hourOfDay(f.to[1]) })
      : t("alert_next_days", days);
    return { csv, when, t };
  },
  template: `
  <div class="next-steps" data-testid="next-steps">
    <div class="next-title">{{ t('alert_next_title') }}</div>
    <ol class="small">
      <li>{{ t('alert_next_watch') }}</li>
      <li>{{ t('alert_next_look') }}</li>
      <li>{{ t('alert_next_complain') }}</li>
      <li>{{ t('alert_next_evidence') }}
        <ul><li>{{ when }}</li>
          <li v-if="csv"><a :href="csv" download data-testid="evidence-csv">{{ t('alert_next_csv') }}</a></li>
          <li>{{ t('alert_next_meter') }}</li></ul></li>
    </ol>
  </div>`,
};

export const Alerts = {
  components: { ...shared, AlertChart, NextSteps },
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
    const model = useLoad(() => get("/model").catch(() => null));
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
      const action = acting.action;
      try {
        await api("POST", `/alerts/${acting.id}/${action}`, { comment: acting.comment });
        toast(t(DONE[action]));
        if (action === "raise") filter.state = "raised"; // the card with what to do next
        acting.id = null;
        reload();
        model.reload();
      } catch (e) { toast(e.message, "bad"); }
    }
    async function toggle(a) {
      if (expanded[a.id]) { delete expanded[a.id]; return; }
      expanded[a.id] = await get(`/alerts/${a.id}`);
    }
    const can = (a, action) => isAdmin() && (a.actions || []).includes(action);
    const label = (a, action) => t(`alert_${action}${a.kind === "theft" ? "_theft" : ""}`);
    const details = (a) => Object.entries(a.data || {}).filter(([k, v]) => v !== null && typeof v !== "object" && k !== "window_starts_s");
    const graph = (a) => `#/usage?view=power&from=${a.view.link.from_ms}&to=${a.view.link.to_ms}`;
    const kindLabel = (k) => t("alert_kind_" + k);
    return { filter, data, error, loading, reload, model, acting, start, act, can, label, details, graph, kindLabel, say, expanded, toggle, focusId, STATE_FILTERS, t, dateTime, ago, state };
  },
  template: `
  <section>
    <h1>{{ t('alerts_title') }}</h1>
    <div class="filters">
      <div class="chips" role="group" :aria-label="t('filter_state')">
        <button v-for="s in STATE_FILTERS" :key="s" class="chip" :class="{ on: filter.state === s }" :aria-pressed="filter.state === s" @click="filter.state = s" :data-filter="s">
          {{ t('state_' + s) }}<span v-if="data && s !== 'all'" class="count">{{ data.counts[s] }}</span></button>
      </div>
      <select v-model="filter.kind" :aria-label="t('filter_kind')" v-if="data" data-testid="kind-filter">
        <option value="">{{ t('all_kinds') }}</option>
        <option v-for="(_, k) in data.kinds" :value="k">{{ kindLabel(k) }}</option>
      </select>
    </div>
    <div class="card ignored-patterns" v-if="model.data.value?.ignore_rules?.length" data-testid="alerts-ignored-patterns">
      <h2 class="card-title">{{ t('model_ignored_title') }}</h2>
      <ul>
        <li v-for="r in model.data.value.ignore_rules" class="small" :data-rule-alert="r.alert_id" :class="{ pending: r.pending }">
          <span v-if="r.pending">{{ say(r.summary) }} <span class="muted">· {{ t('alert_pattern_pending') }}</span></span>
          <span v-else>{{ r.text }}</span>
        </li>
      </ul>
    </div>
    <Loading v-if="loading && !data"/>
    <ErrorBox v-else-if="error" :error="error" @retry="reload"/>
    <p v-else-if="!data.alerts.length" class="empty">{{ t('alerts_none') }}</p>
    <div v-else class="alerts">
      <article v-for="a in data.alerts" :key="a.id" class="card alert" :class="['sev-' + a.severity, { focus: a.id === focusId }]" :data-alert="a.id" :data-kind="a.kind">
        <div class="row between wrap">
          <h2 class="card-title">{{ kindLabel(a.kind) }}</h2>
          <span class="pill" :class="'st-' + a.state">{{ t('state_' + a.state) }}</span>
        </div>
        <p class="alert-msg" data-testid="alert-summary">{{ say(a.summary) }}</p>
        <AlertChart v-if="a.view && a.view.chart" :chart="a.view.chart"/>
        <a v-if="a.view && a.view.link" class="small graph-link" :href="graph(a)" data-testid="alert-graph-link">{{ t('alert_see_graph') }}</a>
        <NextSteps v-if="a.kind === 'theft' && a.state === 'raised'" :alert="a"/>
        <div class="muted small">{{ t('alert_seen', { first: dateTime(a.created_ms), last: ago(a.last_seen_ms, state.now) }) }}
          <span v-if="a.repeat_count > 1"> · {{ t('alert_repeats', { n: a.repeat_count }) }}</span></div>
        <div class="muted small" v-if="a.action_comment">“{{ a.action_comment }}”</div>
        <div class="row gap wrap actions">
          <button class="button ghost" v-if="can(a, 'ignore')" @click="start(a, 'ignore')" data-action="ignore">{{ label(a, 'ignore') }}</button>
          <button class="button ghost" v-if="can(a, 'unignore')" @click="start(a, 'unignore')" data-action="unignore">{{ t('alert_unignore') }}</button>
          <button class="button danger" v-if="can(a, 'raise')" @click="start(a, 'raise')" data-action="raise">{{ label(a, 'raise') }}</button>
          <button class="button ghost" v-if="can(a, 'resolve')" @click="start(a, 'resolve')" data-action="resolve">{{ t('alert_resolve') }}</button>
          <button class="link" @click="toggle(a)" :aria-expanded="!!expanded[a.id]">{{ t('alert_history') }}</button>
        </div>
        <form v-if="acting.id === a.id" class="act-form" @submit.prevent="act">
          <p class="small muted">{{ t('alert_' + acting.action + (a.kind === 'theft' ? '_theft' : '') + '_help') }}</p>
          <label>{{ t('alert_comment') }}<textarea v-model="acting.comment" rows="2" maxlength="500" name="comment"></textarea></label>
          <div class="row gap"><button class="button" data-action="confirm">{{ acting.action === 'unignore' || acting.action === 'resolve' ? t('alert_' + acting.action) : label(a, acting.action) }}</button>
            <button type="button" class="button ghost" @click="acting.id = null">{{ t('cancel') }}</button></div>
        </form>
        <ul v-if="expanded[a.id]" class="history" data-testid="alert-history">
          <li v-for="(h, i) in expanded[a.id].history">{{ say(h) }}<span v-if="expanded[a.id].actions[i].comment">: “{{ expanded[a.id].actions[i].comment }}”</span></li>
          <li v-if="!expanded[a.id].history.length" class="muted">{{ t('alert_history_none') }}</li>
        </ul>
        <details class="alert-details small">
          <summary>{{ t('alert_details') }}</summary>
          <p class="muted">{{ a.message }}</p>
          <dl class="numbers"><template v-for="[k, v] in details(a)"><dt>{{ k }}</dt><dd>{{ v }}</dd></template></dl>
        </details>
      </article>
    </div>
  </section>`,
};
