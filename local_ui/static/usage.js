// The Usage page: energy per node for a day / week / month / bill cycle / year, with the previous
// period overlaid, drawn by uPlot (loaded with this page only) and downloadable as CSV.
import { ref, reactive, computed, onMounted, onUnmounted, watch, nextTick } from "./vendor/vue/vue.esm-browser.prod.js";
import uPlot from "./vendor/uplot/uPlot.esm.js";
import { get } from "./api.js";
import { t, num, todayIso, getZone, dayOfIso } from "./format.js";

const PERIODS = ["day", "week", "month", "cycle", "year"];
const COLORS = ["#0f766e", "#d97706", "#7c3aed", "#2563eb", "#db2777", "#65a30d"];

function loadCss(href) {
  if (document.querySelector(`link[href="${href}"]`)) return;
  const l = document.createElement("link");
  l.rel = "stylesheet"; l.href = href;
  document.head.appendChild(l);
}

function shiftDate(iso, kind, dir) {
  const [y, m, d] = iso.split("-").map(Number);
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (kind === "day") dt.setUTCDate(dt.getUTCDate() + dir);
  else if (kind === "week") dt.setUTCDate(dt.getUTCDate() + 7 * dir);
  else if (kind === "year") dt.setUTCFullYear(dt.getUTCFullYear() + dir);
  else { dt.setUTCDate(1); dt.setUTCMonth(dt.getUTCMonth() + dir); }
  return dt.toISOString().slice(0, 10);
}

// uPlot draws in the browser's zone; shift timestamps so axes read in the household's zone.
function tzShift(ms) {
  const zone = getZone();
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(ms).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const local = new Date(asUtc);
  return (asUtc + local.getTimezoneOffset() * 60000) / 1000;
}

export const Usage = {
  setup() {
    loadCss("/static/vendor/uplot/uPlot.min.css");
    const sel = reactive({ period: "day", date: todayIso(), node: "", compare: true });
    const data = ref(null), error = ref(null), loading = ref(false), nodes = ref([]);
    const chartEl = ref(null);
    let chart = null;

    const query = computed(() => {
      const q = new URLSearchParams({ period: sel.period, date: sel.date });
      if (sel.node) q.set("node", sel.node);
      return q;
    });
    const csvHref = computed(() => `/api/v1/usage?${query.value}&format=csv`);
    // The same files as `powergw export daily|readings`, for the days this page shows.
    const exportHref = (kind) => {
      const d = data.value;
      if (!d) return null;
      const q = new URLSearchParams({ from: d.first_day, to: d.last_day });
      if (sel.node) q.set("node", sel.node);
      return `/api/v1/export/${kind}.csv?${q}`;
    };

    async function load() {
      loading.value = true;
      try {
        const q = new URLSearchParams(query.value);
        if (sel.compare) q.set("compare", "true");
        data.value = await get("/usage?" + q);
        error.value = null;
        await nextTick();
        draw();
      } catch (e) { error.value = e; data.value = null; if (chart) { chart.destroy(); chart = null; } }
      finally { loading.value = false; }
    }

    function draw() {
      if (!chartEl.value || !data.value) return;
      const d = data.value;
      // One x axis: every bucket of this period; the previous period lines up by position
      // (day 5 of this month against day 5 of the last), whatever their lengths.
      const xs = d.buckets;
      const idx = new Map(xs.map((x, i) => [x, i]));
      const many = d.series.length > 2;
      const series = [{}], cols = [xs.map(tzShift)];
      d.series.forEach((s, i) => {
        const ys = xs.map(() => null);
        s.points.forEach(([x, v]) => { if (idx.has(x)) ys[idx.get(x)] = v; });
        cols.push(ys);
        const color = COLORS[i % COLORS.length];
        series.push({
          label: s.name, stroke: color, fill: many ? undefined : color + "cc", width: many ? 2 : 0, points: { show: false },
          // Two nodes side by side around each tick; more than two read better as lines.
          paths: many ? uPlot.paths.stepped({ align: 1 }) : uPlot.paths.bars({ size: [d.series.length > 1 ? 0.42 : 0.7, 48], align: d.series.length > 1 ? (i ? 1 : -1) : 0 }),
          value: (u, v) => (v == null ? "—" : num(v, 3) + " kWh"),
        });
      });
      // The previous period's household total (the server's: [billing] metered_nodes, as the bill counts).
      if (d.previous && d.previous.total_points && d.previous.total_points.length) {
        const totals = d.previous.buckets.map(() => null);
        const pidx = new Map(d.previous.buckets.map((x, i) => [x, i]));
        d.previous.total_points.forEach(([x, v]) => {
          const i = pidx.get(x);
          if (i !== undefined) totals[i] = v;
        });
        cols.push(xs.map((_, i) => (i < totals.length ? totals[i] : null)));
        series.push({ label: t("previous_period"), stroke: "#475569", dash: [5, 4], width: 1.5, points: { show: false },
          paths: uPlot.paths.stepped({ align: 1 }), value: (u, v) => (v == null ? "—" : num(v, 3) + " kWh") });
      }
      const width = chartEl.value.clientWidth || 320;
      const opts = {
        width, height: Math.max(220, Math.min(360, Math.round(width * 0.5))),
        series,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{ stroke: "#475569", grid: { stroke: "#eef2f1" } }, { stroke: "#475569", grid: { stroke: "#e2e8e6" }, size: 50,
          values: (u, ticks) => ticks.map((v) => num(v, v < 1 ? 2 : 1)), label: "kWh", labelSize: 18 }],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      };
      if (chart) chart.destroy();
      chart = new uPlot(opts, cols, chartEl.value);
    }

    function onResize() { if (chart && chartEl.value) chart.setSize({ width: chartEl.value.clientWidth, height: chart.height }); }
    onMounted(async () => {
      window.addEventListener("resize", onResize);
      try { nodes.value = (await get("/nodes")).nodes; } catch (e) { /* the chart shows the error */ }
      load();
    });
    onUnmounted(() => { window.removeEventListener("resize", onResize); if (chart) chart.destroy(); });
    watch(sel, load);

    const change = computed(() => {
      const d = data.value;
      if (d?.total_kwh == null || !d.previous || !d.previous.total_kwh) return null;
      return (100 * (d.total_kwh - d.previous.total_kwh)) / d.previous.total_kwh;
    });
    const step = (dir) => { sel.date = shiftDate(sel.date, sel.period === "cycle" ? "month" : sel.period, dir); };
    const today = () => { sel.date = todayIso(); };
    return { sel, data, error, loading, nodes, chartEl, csvHref, exportHref, change, step, today, PERIODS, t, num, dayOfIso, load };
  },
  template: `
  <section>
    <h1>{{ t('usage_title') }}</h1>
    <div class="toolbar">
      <div class="segmented" role="tablist">
        <button v-for="p in PERIODS" :key="p" :class="{ on: sel.period === p }" @click="sel.period = p" :data-period="p">{{ t('period_' + p) }}</button>
      </div>
      <div class="row gap daterow">
        <button class="button ghost icon" @click="step(-1)" :aria-label="t('previous')">‹</button>
        <input type="date" v-model="sel.date" aria-label="date">
        <button class="button ghost icon" @click="step(1)" :aria-label="t('next')">›</button>
        <button class="button ghost" @click="today">{{ t('today') }}</button>
      </div>
      <div class="row gap wrap">
        <select v-model="sel.node" aria-label="node"><option value="">{{ t('all_nodes') }}</option>
          <option v-for="n in nodes" :value="n.node_id">{{ n.name }}</option></select>
        <label class="check"><input type="checkbox" v-model="sel.compare"> {{ t('compare_previous') }}</label>
        <a class="button ghost" :href="csvHref" download data-testid="csv">{{ t('download_csv') }}</a>
      </div>
    </div>
    <div class="card">
      <div v-if="data" class="row gap wrap stats">
        <div><div class="muted small">{{ t('total') }} · {{ dayOfIso(data.first_day) }}<span v-if="data.last_day !== data.first_day"> – {{ dayOfIso(data.last_day) }}</span></div>
          <div class="big" data-testid="usage-total">{{ num(data.total_kwh, 2) }} <small v-if="data.total_kwh != null">kWh</small></div>
          <div class="muted small" v-if="data.excluded_from_total.length" data-testid="usage-metered-note">{{ t('usage_metered_only', { n: data.excluded_from_total.length }) }}</div>
          <div class="muted small" v-if="data.total_unavailable" data-testid="usage-no-total">{{ data.total_unavailable }}</div></div>
        <div v-if="data.previous && data.previous.total_kwh != null"><div class="muted small">{{ t('previous_period') }}</div><div class="big-ish">{{ num(data.previous.total_kwh, 2) }} kWh</div></div>
        <div v-if="change !== null"><div class="muted small">{{ t('change') }}</div>
          <div class="big-ish" :class="change > 0 ? 'text-warn' : 'text-ok'">{{ change > 0 ? '+' : '' }}{{ num(change, 1) }} %</div></div>
      </div>
      <div v-if="error" class="error-box">{{ error.message }}</div>
      <p v-else-if="data && !data.series.length" class="empty">{{ t('no_data') }}</p>
      <div ref="chartEl" class="chart" :class="{ dim: loading }" data-testid="chart"></div>
    </div>
    <div class="row gap wrap export-row" v-if="data">
      <a class="button ghost" :href="exportHref('daily')" download data-testid="export-daily">{{ t('export_daily') }}</a>
      <a class="button ghost" :href="exportHref('readings')" download data-testid="export-readings">{{ t('export_readings') }}</a>
      <span class="muted small">{{ t('export_help', { days: data.first_day === data.last_day ? dayOfIso(data.first_day) : dayOfIso(data.first_day) + ' – ' + dayOfIso(data.last_day) }) }}</span>
    </div>
  </section>`,
};
