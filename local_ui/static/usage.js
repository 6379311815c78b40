// The Usage page: energy for a day / week / month / bill cycle / year as bars stacked per sensor up to the
// house's total, in units or rupees, with the previous period as a line; or, with view=power, the power graph
// (power.js). Loaded only when the page opens, with uPlot. #/usage?view=power&from=<ms>&to=<ms> opens the
// power graph on that span.
import { ref, reactive, computed, onMounted, onUnmounted, watch, nextTick } from "./vendor/vue/vue.esm-browser.prod.js";
import { get } from "./api.js";
import { t, num, inr, todayIso, dayOfIso } from "./format.js";
import { uPlot, loadCss, baseOptions, bucketLabel, stack, partName, partColor, hashParams, setHashParams } from "./charts.js";
import { PowerGraph } from "./power.js";

const PERIODS = ["day", "week", "month", "cycle", "year"];

function shiftDate(iso, kind, dir) {
  const [y, m, d] = iso.split("-").map(Number);
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (kind === "day") dt.setUTCDate(dt.getUTCDate() + dir);
  else if (kind === "week") dt.setUTCDate(dt.getUTCDate() + 7 * dir);
  else if (kind === "year") dt.setUTCFullYear(dt.getUTCFullYear() + dir);
  else { dt.setUTCDate(1); dt.setUTCMonth(dt.getUTCMonth() + dir); }
  return dt.toISOString().slice(0, 10);
}

// The bars of one period: stacked parts (or the one node asked for), in units or rupees.
function columns(d, money) {
  const idx = new Map(d.buckets.map((x, i) => [x, i]));
  const col = (points) => {
    const ys = d.buckets.map(() => null);
    (points || []).forEach(([x, v]) => { if (idx.has(x)) ys[idx.get(x)] = Number(v); });
    return ys;
  };
  if (d.parts) {
    return d.parts.map((p, i) => ({ name: partName(p), color: partColor(p, i), ys: col(money ? p.cost_points : p.points) }));
  }
  return d.series.map((s, i) => ({ name: s.name || s.node_id, color: partColor(s, i), ys: col(s.points) }));
}

const EnergyChart = {
  props: ["sel"],
  setup(props) {
    const data = ref(null), error = ref(null), loading = ref(false);
    const chartEl = ref(null);
    let chart = null;
    const money = computed(() => props.sel.measure === "rupees" && !props.sel.node);
    const query = computed(() => {
      const q = new URLSearchParams({ period: props.sel.period, date: props.sel.date });
      if (props.sel.node) q.set("node", props.sel.node);
      return q;
    });
    const csvHref = computed(() => `/api/v1/usage?${query.value}&format=csv`);
    const exportHref = (kind) => {
      const d = data.value;
      if (!d) return null;
      const q = new URLSearchParams({ from: d.first_day, to: d.last_day });
      if (props.sel.node) q.set("node", props.sel.node);
      return `/api/v1/export/${kind}.csv?${q}`;
    };
    const fmtValue = (v) => (v == null ? "—" : money.value ? inr(v) : num(v, 2) + " " + t("units"));
    const cols = computed(() => (data.value ? columns(data.value, money.value) : []));
    const totals = computed(() => {
      const d = data.value;
      if (!d) return [];
      return d.buckets.map((_, j) => {
        const vs = cols.value.map((c) => c.ys[j]).filter((v) => v != null);
        return vs.length ? vs.reduce((a, b) => a + b, 0) : null;
      });
    });

    async function load() {
      loading.value = true;
      try {
        const q = new URLSearchParams(query.value);
        if (props.sel.compare) q.set("compare", "true");
        if (money.value) q.set("money", "true");
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
      const label = bucketLabel(d.resolution);
      const width = chartEl.value.clientWidth || 320;
      const opts = baseOptions(width, d.end_ms - d.start_ms, label, money.value ? "₹" : t("units"), (v) => (money.value ? inr(v, { decimals: 0 }) : num(v, v < 1 ? 2 : 1)));
      const xs = d.buckets.map((b) => b / 1000);
      const stacked = stack(cols.value.map((c) => c.ys));
      const data_ = [xs];
      const n = cols.value.length;
      const size = [Math.min(0.8, 0.5 + 0.3 * (xs.length > 12)), 60];
      const half = (xs.length > 1 ? xs[1] - xs[0] : 3600) / 2; // room for the first and last bars
      opts.scales.x.range = (u, min, max) => [min - half, max + half];
      // The largest running sum first, each smaller one drawn over it: every part a band of the bar.
      for (let i = n - 1; i >= 0; i--) {
        const c = cols.value[i];
        data_.push(stacked[i]);
        opts.series.push({ label: c.name, stroke: c.color, fill: c.color, width: 0, points: { show: false },
          paths: uPlot.paths.bars({ size, align: 0 }), value: (u, v, si, di) => fmtValue(di == null ? null : c.ys[di]) });
      }
      data_.push(totals.value);
      opts.series.push({ label: t("usage_total_line"), stroke: "#10201f", width: 0, points: { show: false }, paths: () => null, value: (u, v) => fmtValue(v) });
      if (!money.value && d.previous?.total_points?.length) {
        const prev = d.previous.buckets.map(() => null);
        const pidx = new Map(d.previous.buckets.map((x, i) => [x, i]));
        d.previous.total_points.forEach(([x, v]) => { if (pidx.has(x)) prev[pidx.get(x)] = v; });
        data_.push(xs.map((_, i) => (i < prev.length ? prev[i] : null)));
        opts.series.push({ label: t("previous_period"), stroke: "#475569", dash: [5, 4], width: 1.5, points: { show: false },
          paths: uPlot.paths.stepped({ align: 1 }), value: (u, v) => fmtValue(v) });
      }
      if (chart) chart.destroy();
      chart = new uPlot(opts, data_, chartEl.value);
    }

    function onResize() { if (chart && chartEl.value) chart.setSize({ width: chartEl.value.clientWidth, height: chart.height }); }
    onMounted(() => { window.addEventListener("resize", onResize); load(); });
    onUnmounted(() => { window.removeEventListener("resize", onResize); if (chart) chart.destroy(); });
    watch(() => [props.sel.period, props.sel.date, props.sel.node, props.sel.compare, money.value], load);

    const total = computed(() => (money.value ? data.value?.total_cost : data.value?.total_kwh));
    const change = computed(() => {
      const d = data.value;
      if (d?.total_kwh == null || !d.previous || !d.previous.total_kwh) return null;
      return (100 * (d.total_kwh - d.previous.total_kwh)) / d.previous.total_kwh;
    });
    const span = computed(() => {
      const d = data.value;
      if (!d) return "";
      return d.first_day === d.last_day ? dayOfIso(d.first_day) : `${dayOfIso(d.first_day)} – ${dayOfIso(d.last_day)}`;
    });
    const summary = computed(() => (data.value ? t("usage_chart_label", {
      what: money.value ? t("usage_in_rupees") : t("usage_in_units"), from: dayOfIso(data.value.first_day), to: dayOfIso(data.value.last_day),
      total: money.value ? inr(total.value) : num(total.value, 2) + " " + t("units"),
    }) : ""));
    const rowLabel = computed(() => (data.value ? bucketLabel(data.value.resolution) : () => ""));
    return { data, error, loading, chartEl, csvHref, exportHref, change, total, money, span, summary, cols, totals, rowLabel, fmtValue, t, num, inr, dayOfIso };
  },
  template: `
  <div class="card">
    <div v-if="data" class="row gap wrap stats">
      <div><div class="muted small">{{ t('total') }} · {{ span }}</div>
        <div class="big" data-testid="usage-total">{{ money ? inr(total) : num(data.total_kwh, 2) }} <small v-if="!money && data.total_kwh != null">kWh</small></div>
        <div class="muted small" v-if="data.excluded_from_total.length" data-testid="usage-metered-note">{{ t('usage_metered_only', { n: data.excluded_from_total.length }) }}</div>
        <div class="muted small" v-if="data.total_unavailable" data-testid="usage-no-total">{{ data.total_unavailable }}</div>
        <div class="muted small" v-if="money && data.cost_unavailable" data-testid="cost-unavailable">{{ t('cost_unavailable', { why: data.cost_unavailable }) }}</div></div>
      <div v-if="!money && data.previous && data.previous.total_kwh != null"><div class="muted small">{{ t('previous_period') }}</div><div class="big-ish">{{ num(data.previous.total_kwh, 2) }} kWh</div></div>
      <div v-if="!money && change !== null"><div class="muted small">{{ t('change') }}</div>
        <div class="big-ish" :class="change > 0 ? 'text-warn' : 'text-ok'">{{ change > 0 ? '+' : '' }}{{ num(change, 1) }} %</div></div>
    </div>
    <div v-if="error" class="error-box">{{ error.message }}</div>
    <p v-else-if="data && !data.series.length" class="empty">{{ t('no_data') }}</p>
    <div ref="chartEl" class="chart chart-tall" :class="{ dim: loading }" data-testid="chart" role="img" :aria-label="summary"></div>
    <details class="small chart-table" v-if="data && data.series.length" data-testid="usage-table">
      <summary>{{ t('usage_table') }}</summary>
      <div class="table-scroll"><table class="table">
        <thead><tr><th scope="col">{{ t('usage_when') }}</th><th scope="col" class="num" v-for="c in cols">{{ c.name }}</th><th scope="col" class="num">{{ t('usage_total_line') }}</th></tr></thead>
        <tbody><tr v-for="(b, j) in data.buckets" :key="b"><th scope="row">{{ rowLabel(b) }}</th><td class="num" v-for="c in cols">{{ fmtValue(c.ys[j]) }}</td><td class="num" data-total>{{ fmtValue(totals[j]) }}</td></tr></tbody>
      </table></div>
    </details>
  </div>
  <div class="row gap wrap export-row" v-if="data">
    <a class="button ghost" :href="csvHref" download data-testid="csv">{{ t('download_csv') }}</a>
    <a class="button ghost" :href="exportHref('daily')" download data-testid="export-daily">{{ t('export_daily') }}</a>
    <a class="button ghost" :href="exportHref('readings')" download data-testid="export-readings">{{ t('export_readings') }}</a>
    <span class="muted small">{{ t('export_help', { days: span }) }}</span>
  </div>`,
};

export const Usage = {
  components: { EnergyChart, PowerGraph },
  setup() {
    loadCss("/static/vendor/uplot/uPlot.min.css");
    const h = hashParams();
    const sel = reactive({
      view: h.get("view") === "power" ? "power" : "energy",
      period: PERIODS.includes(h.get("period")) ? h.get("period") : "day",
      date: /^\d{4}-\d\d-\d\d$/.test(h.get("date") || "") ? h.get("date") : todayIso(),
      measure: h.get("in") === "rupees" ? "rupees" : "units",
      node: "", compare: true,
    });
    const nodes = ref([]);
    onMounted(async () => { try { nodes.value = (await get("/nodes")).nodes; } catch (e) { /* the chart shows the error */ } });
    watch(() => [sel.view, sel.period, sel.date, sel.measure], () => {
      if (sel.view === "energy") setHashParams({ period: sel.period, date: sel.date, ...(sel.measure === "rupees" ? { in: "rupees" } : {}) });
    });
    const step = (dir) => { sel.date = shiftDate(sel.date, sel.period === "cycle" ? "month" : sel.period, dir); };
    const today = () => { sel.date = todayIso(); };
    // The date shows day-month-year whatever the browser's language; the native picker opens on a click.
    const pick = (e) => { try { e.target.showPicker?.(); } catch (err) { /* the field still takes typing */ } };
    return { sel, nodes, step, today, pick, PERIODS, t, dayOfIso };
  },
  template: `
  <section class="usage">
    <h1>{{ t('usage_title') }}</h1>
    <div class="usage-controls">
      <fieldset class="seg" data-testid="view">
        <legend class="sr-only">{{ t('usage_view') }}</legend>
        <label data-view="energy"><input type="radio" name="view" value="energy" v-model="sel.view"><span>{{ t('usage_view_energy') }}</span></label>
        <label data-view="power"><input type="radio" name="view" value="power" v-model="sel.view"><span>{{ t('usage_view_power') }}</span></label>
      </fieldset>
      <template v-if="sel.view === 'energy'">
        <fieldset class="seg" data-testid="periods">
          <legend class="sr-only">{{ t('usage_period') }}</legend>
          <label v-for="p in PERIODS" :key="p" :data-period="p"><input type="radio" name="period" :value="p" v-model="sel.period"><span>{{ t('period_' + p) }}</span></label>
        </fieldset>
        <div class="row gap daterow">
          <button class="button ghost icon" @click="step(-1)" :aria-label="t('previous')">‹</button>
          <label class="date-pick" data-testid="date-pick"><span aria-hidden="true">{{ dayOfIso(sel.date) }}</span>
            <input type="date" v-model="sel.date" :aria-label="t('date') + ': ' + dayOfIso(sel.date)" required @click="pick"></label>
          <button class="button ghost icon" @click="step(1)" :aria-label="t('next')">›</button>
          <button class="button ghost" @click="today">{{ t('today') }}</button>
        </div>
        <div class="row gap measure-row">
        <fieldset class="seg" data-testid="measure" v-if="!sel.node">
          <legend class="sr-only">{{ t('usage_measure') }}</legend>
          <label data-measure="units"><input type="radio" name="measure" value="units" v-model="sel.measure"><span>{{ t('usage_in_units') }}</span></label>
          <label data-measure="rupees"><input type="radio" name="measure" value="rupees" v-model="sel.measure"><span>{{ t('usage_in_rupees') }}</span></label>
        </fieldset>
        <details class="usage-more">
          <summary>{{ t('usage_options') }}</summary>
          <div class="row gap wrap">
            <select v-model="sel.node" :aria-label="t('all_nodes')"><option value="">{{ t('all_nodes') }}</option>
              <option v-for="n in nodes" :value="n.node_id">{{ n.name }}</option></select>
            <label class="check"><input type="checkbox" v-model="sel.compare"> {{ t('compare_previous') }}</label>
          </div>
        </details>
        </div>
      </template>
    </div>
    <EnergyChart v-if="sel.view === 'energy'" :sel="sel"/>
    <PowerGraph v-else/>
  </section>`,
};
