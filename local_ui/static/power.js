// The power graph: watts over time from the minute data, the sensors stacked up to the house's total, zoom
// from a day down to a minute by dragging across it, and, while it shows the present, the live stream
// extending it at the right edge. Its span lives in the address: #/usage?view=power&from=<ms>&to=<ms>.
import { ref, computed, onMounted, onUnmounted, watch, nextTick } from "./vendor/vue/vue.esm-browser.prod.js";
import { get } from "./api.js";
import { t, num, watts, dateTime, hourMinute } from "./format.js";
import { uPlot, baseOptions, stack, partName, partColor, hashParams, setHashParams } from "./charts.js";
import { state } from "./store.js";

const MIN = 60000, HOUR = 3600000, DAY = 86400000;
const SPANS = [["hour", HOUR], ["6h", 6 * HOUR], ["day", DAY]];
const LIVE_SLACK = 2 * MIN; // a span ending this close to now shows the present and follows it

export const PowerGraph = {
  setup() {
    const h = hashParams();
    const now = () => state.now;
    let to = Number(h.get("to")) || now();
    let from = Number(h.get("from")) || to - DAY;
    if (!(from < to)) { to = now(); from = to - DAY; }
    const span = ref({ from, to });
    const data = ref(null), error = ref(null), loading = ref(false);
    const chartEl = ref(null);
    let chart = null, liveTimer = null;
    const edge = ref(null); // the newest instant the graph shows: the live stream's last value while live
    const live = computed(() => now() - span.value.to < LIVE_SLACK);

    async function load() {
      loading.value = true;
      const { from: f, to: t_ } = span.value;
      setHashParams({ view: "power", from: Math.round(f), to: Math.round(t_) });
      try {
        data.value = await get(`/power?from=${Math.round(f)}&to=${Math.round(t_)}`);
        error.value = null;
        await nextTick();
        draw();
      } catch (e) { error.value = e; data.value = null; if (chart) { chart.destroy(); chart = null; } }
      finally { loading.value = false; }
    }

    // The columns: x, each part's running sum (largest first), and the house's total.
    function columns() {
      const d = data.value;
      // While live, the minutes not measured yet give way to the stream's values at the right edge.
      let n = d.buckets.length;
      if (live.value) while (n > 1 && d.house_w[n - 1] === null) n--;
      const xs = d.buckets.slice(0, n).map((b) => b / 1000);
      const parts = d.parts.map((p) => p.watts.slice(0, n));
      const house = d.house_w.slice(0, n);
      if (live.value && extra.length) {
        for (const [ts, w, byNode] of extra) {
          if (ts / 1000 <= xs[xs.length - 1]) continue;
          xs.push(ts / 1000);
          house.push(w);
          const inside = d.parts.filter((p) => p.key !== "rest").map((p) => byNode[p.node_id] ?? null);
          const sum = inside.reduce((a, b) => a + (b ?? 0), 0);
          d.parts.forEach((p, i) => parts[i].push(p.key === "rest" ? Math.max(0, w - sum) : inside[i]));
        }
      }
      return { xs, parts, house };
    }
    let extra = []; // [ts, house W, {node: W}] from the live stream since the data was loaded

    function draw() {
      if (!chartEl.value || !data.value) return;
      const d = data.value;
      const { xs, parts, house } = columns();
      const width = chartEl.value.clientWidth || 320;
      const opts = baseOptions(width, span.value.to - span.value.from, dateTime, "W", (v) => (v >= 10000 ? num(v / 1000, 1) + "k" : num(v, 0)));
      const stacked = stack(parts);
      const cols = [xs];
      for (let i = parts.length - 1; i >= 0; i--) {
        const p = d.parts[i], color = partColor(p, i), own = parts[i];
        cols.push(stacked[i]);
        opts.series.push({ label: partName(p), stroke: color, fill: color + "bb", width: 1, points: { show: false },
          value: (u, v, si, di) => (di == null ? "—" : watts(own[di])) });
      }
      cols.push(house);
      opts.series.push({ label: t("usage_total_line"), stroke: "#10201f", width: 1.5, points: { show: false }, value: (u, v) => watts(v) });
      opts.scales.x.range = () => [span.value.from / 1000, Math.max(span.value.to, xs[xs.length - 1] * 1000) / 1000];
      // Dragging across the chart zooms to that span, down to a minute; the minute data is fetched for it.
      opts.hooks = { setSelect: [(u) => {
        if (u.select.width < 4) return;
        const a = u.posToVal(u.select.left, "x") * 1000, b = u.posToVal(u.select.left + u.select.width, "x") * 1000;
        u.setSelect({ width: 0, height: 0 }, false);
        zoom(a, b);
      }] };
      opts.cursor.drag.setScale = false;
      if (chart) chart.destroy();
      chart = new uPlot(opts, cols, chartEl.value);
      edge.value = Math.round(xs[xs.length - 1] * 1000);
    }

    function zoom(a, b) {
      if (b - a < MIN) { const mid = (a + b) / 2; a = mid - MIN / 2; b = mid + MIN / 2; }
      span.value = { from: a, to: b };
    }
    function show(ms) { span.value = { from: now() - ms, to: now() }; }
    function step(dir) {
      const w = span.value.to - span.value.from;
      const to_ = Math.min(now(), span.value.to + dir * w);
      span.value = { from: to_ - w, to: to_ };
    }
    const zoomOut = () => { const w = span.value.to - span.value.from, to_ = Math.min(now(), span.value.to + w / 2); span.value = { from: to_ - Math.min(31 * DAY, 2 * w), to: to_ }; };

    // Live: each new value of the stream extends the line; the span slides with the present.
    watch(() => state.live.ts_ms, (ts) => {
      if (!ts || !live.value || !data.value || state.live.house_power_w == null) return;
      const byNode = Object.fromEntries(Object.entries(state.live.nodes || {}).map(([id, v]) => [id, v.power_w]));
      extra.push([ts, state.live.house_power_w, byNode]);
      const w = span.value.to - span.value.from;
      span.value = { from: Math.max(span.value.from, ts - w), to: Math.max(span.value.to, ts), slide: true };
    });
    watch(span, (s, old) => {
      if (s.slide && old && data.value) { if (chart) { const { xs, parts, house } = columns(); chart.setData([xs, ...stack(parts).reverse(), house]); edge.value = Math.round(xs[xs.length - 1] * 1000); } return; }
      extra = [];
      load();
    });
    function onResize() { if (chart && chartEl.value) chart.setSize({ width: chartEl.value.clientWidth, height: chart.height }); }
    onMounted(() => {
      window.addEventListener("resize", onResize);
      load();
      liveTimer = setInterval(() => { if (live.value) { extra = []; load(); } }, 5 * MIN); // the minute data catches up
    });
    onUnmounted(() => { window.removeEventListener("resize", onResize); clearInterval(liveTimer); if (chart) chart.destroy(); });

    const stats = computed(() => {
      const ws = (data.value?.house_w || []).filter((w) => w != null);
      if (!ws.length) return null;
      const max = Math.max(...ws), at = data.value.buckets[data.value.house_w.indexOf(max)];
      return { avg: ws.reduce((a, b) => a + b, 0) / ws.length, max, at };
    });
    const summary = computed(() => (stats.value ? t("power_label", {
      from: dateTime(span.value.from), to: dateTime(span.value.to), max: watts(stats.value.max), avg: watts(stats.value.avg),
    }) : t("power_none")));
    const spanText = computed(() => `${dateTime(span.value.from)} – ${span.value.to - span.value.from < DAY ? hourMinute(span.value.to) : dateTime(span.value.to)}`);
    const spanKey = computed(() => (live.value ? (SPANS.find(([, ms]) => Math.abs(span.value.to - span.value.from - ms) < MIN) || [""])[0] : ""));
    return { data, error, loading, chartEl, edge, live, stats, summary, spanText, spanKey, SPANS, show, step, zoomOut, t, watts, dateTime };
  },
  template: `
  <div class="card power" data-testid="power">
    <div class="row gap wrap between">
      <fieldset class="seg" data-testid="spans">
        <legend class="sr-only">{{ t('power_span') }}</legend>
        <label v-for="[key, ms] in SPANS" :key="key" :data-span="key"><input type="radio" name="span" :value="key" :checked="spanKey === key" @change="show(ms)"><span>{{ t(key === 'hour' ? 'power_span_hour' : key === '6h' ? 'power_span_6h' : 'power_span_day') }}</span></label>
      </fieldset>
      <div class="row gap">
        <button class="button ghost icon" @click="step(-1)" :aria-label="t('previous')">‹</button>
        <button class="button ghost icon" @click="step(1)" :aria-label="t('next')" :disabled="live">›</button>
        <button class="button ghost" @click="zoomOut" data-testid="zoom-out" :aria-label="t('power_zoom_out')">−</button>
        <span class="pill ok" v-if="live" data-testid="power-live">{{ t('power_live') }}</span>
      </div>
    </div>
    <div class="muted small" data-testid="power-span">{{ spanText }}</div>
    <div v-if="stats" class="row gap wrap stats power-stats">
      <div><div class="muted small">{{ t('power_avg') }}</div><div class="big-ish" data-testid="power-avg">{{ watts(stats.avg) }}</div></div>
      <div><div class="muted small">{{ t('power_max') }}</div><div class="big-ish">{{ watts(stats.max) }}</div><div class="muted small">{{ t('power_at', { when: dateTime(stats.at) }) }}</div></div>
    </div>
    <div v-if="error" class="error-box">{{ error.message }}</div>
    <p v-else-if="data && !stats" class="empty">{{ t('power_none') }}</p>
    <div ref="chartEl" class="chart chart-tall" :class="{ dim: loading }" data-testid="power-chart" :data-edge="edge" role="img" :aria-label="summary"></div>
    <p class="muted small">{{ t('power_zoom_help') }}</p>
  </div>`,
};
