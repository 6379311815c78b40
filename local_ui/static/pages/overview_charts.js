// The Overview's two small pictures, drawn as SVG by Vue (no chart library on the first page):
// the last hour's power as a line, and today by hour against a usual day. Each carries its own text
// alternative: a sentence for screen readers, and the hours as a table under "Show as a table".
import { ref, computed } from "../vendor/vue/vue.esm-browser.prod.js";
import { t, inr, num, watts, hourLabel } from "../format.js";

const HOUR_MS = 3600000;
const GAP_MS = 180000; // no reading for three minutes breaks the line

export const Sparkline = {
  props: { points: { type: Array, required: true }, now: { type: Number, required: true } },
  setup(props) {
    const W = 300, H = 64;
    const max = computed(() => Math.max(100, ...props.points.map(([, w]) => w)) * 1.1);
    const path = computed(() => {
      const from = props.now - HOUR_MS;
      let d = "", prev = null;
      for (const [ts, w] of props.points) {
        const x = ((ts - from) / HOUR_MS) * W;
        const y = H - (w / max.value) * (H - 4) - 2;
        d += `${prev === null || ts - prev > GAP_MS ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
        prev = ts;
      }
      return d;
    });
    const label = computed(() => {
      const ws = props.points.map(([, w]) => w);
      if (!ws.length) return t("ov_spark_empty");
      return t("ov_spark_label", { min: watts(Math.min(...ws)), max: watts(Math.max(...ws)), now: watts(ws[ws.length - 1]) });
    });
    return { W, H, path, label, t };
  },
  template: `<figure class="spark">
    <svg :viewBox="'0 0 ' + W + ' ' + H" preserveAspectRatio="none" role="img" :aria-label="label">
      <path v-if="path" :d="path" class="spark-line" vector-effect="non-scaling-stroke"/>
    </svg>
    <figcaption class="sr-only">{{ label }}</figcaption>
  </figure>`,
};

export const HourChart = {
  props: { hours: { type: Object, required: true }, todayKwh: Number, todayCost: String },
  setup(props) {
    const mode = ref("units");
    const W = 480, H = 150, TOP = 8, BOTTOM = 20;
    const value = (h, usual) => {
      const v = mode.value === "units" ? (usual ? h.usual_kwh : h.kwh) : (usual ? h.usual_cost : h.cost);
      return v === null || v === undefined ? null : Number(v);
    };
    const rows = computed(() => props.hours.hours);
    const max = computed(() => Math.max(0.001, ...rows.value.flatMap((h) => [value(h, false) ?? 0, value(h, true) ?? 0])) * 1.1);
    const y = (v) => H - BOTTOM - (v / max.value) * (H - TOP - BOTTOM);
    const slot = W / 24;
    const bars = computed(() => rows.value.map((h, i) => {
      const v = value(h, false);
      return v === null ? null : { x: i * slot + slot * 0.15, w: slot * 0.7, y: y(v), h: H - BOTTOM - y(v) };
    }).filter(Boolean));
    const usualPath = computed(() => {
      let d = "", open = false;
      rows.value.forEach((h, i) => {
        const v = value(h, true);
        if (v === null) { open = false; return; }
        d += `${open ? "L" : "M"}${(i * slot).toFixed(1)},${y(v).toFixed(1)}H${((i + 1) * slot).toFixed(1)}`;
        open = true;
      });
      return d;
    });
    const ticks = computed(() => [0, 6, 12, 18].map((i) => ({ x: i * slot, text: hourLabel(rows.value[i].start_ms) })));
    const shown = (h, usual) => {
      const v = value(h, usual);
      if (v === null) return "—";
      return mode.value === "units" ? num(v, 2) : inr(usual ? h.usual_cost : h.cost);
    };
    const label = computed(() => (mode.value === "units"
      ? t("ov_chart_label_units", { total: num(props.todayKwh, 1), usual: num(props.hours.usual_kwh_so_far, 1) })
      : t("ov_chart_label_rupees", { total: inr(props.todayCost) })));
    const hasMoney = computed(() => rows.value.some((h) => h.cost !== null));
    return { mode, W, H, BOTTOM, bars, usualPath, ticks, rows, shown, label, hasMoney, t, hourLabel, max, y };
  },
  template: `<div class="hour-chart" data-testid="hour-chart" :data-mode="mode">
    <fieldset class="seg" v-if="hasMoney">
      <legend class="sr-only">{{ t('ov_show_as') }}</legend>
      <label><input type="radio" value="units" v-model="mode" name="today-mode"><span>{{ t('ov_show_units') }}</span></label>
      <label><input type="radio" value="rupees" v-model="mode" name="today-mode" data-testid="today-rupees"><span>{{ t('ov_show_rupees') }}</span></label>
    </fieldset>
    <svg :viewBox="'0 0 ' + W + ' ' + H" role="img" :aria-label="label" class="hours-svg">
      <line :x1="0" :x2="W" :y1="H - BOTTOM" :y2="H - BOTTOM" class="axis"/>
      <rect v-for="(b, i) in bars" :key="i" :x="b.x" :y="b.y" :width="b.w" :height="b.h" class="bar-today" data-bar/>
      <path :d="usualPath" class="usual-line"/>
      <text v-for="k in ticks" :key="k.x" :x="k.x + 2" :y="H - 5" class="tick">{{ k.text }}</text>
    </svg>
    <div class="legend small"><span class="key today"></span>{{ t('ov_chart_today') }} <template v-if="usualPath"><span class="key usual"></span>{{ t('ov_chart_usual') }}</template></div>
    <details class="small chart-table">
      <summary>{{ t('ov_chart_table') }}</summary>
      <table class="table">
        <thead><tr><th scope="col">{{ t('ov_hour') }}</th><th scope="col" class="num">{{ t('ov_chart_today') }}</th><th scope="col" class="num">{{ t('ov_chart_usual') }}</th></tr></thead>
        <tbody><tr v-for="h in rows" :key="h.start_ms"><th scope="row">{{ hourLabel(h.start_ms) }}</th><td class="num">{{ shown(h, false) }}</td><td class="num">{{ shown(h, true) }}</td></tr></tbody>
      </table>
    </details>
  </div>`,
};
