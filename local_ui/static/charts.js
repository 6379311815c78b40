// What the Usage page's two charts share (loaded with that page only): uPlot in the household's zone with
// Indian labels on the axes and in the legend, stacking, colours and a chart height that suits a phone.
import uPlot from "./vendor/uplot/uPlot.esm.js";
import { t, getZone, time, hourMinute, hourLabel, dayMonth, monthYear, dateTime, dayOfIso, todayIso, localParts } from "./format.js";

export const COLORS = ["#0f766e", "#d97706", "#7c3aed", "#2563eb", "#db2777", "#65a30d", "#0891b2"];
export const REST_COLOR = "#94a3b8";

export function loadCss(href) {
  if (document.querySelector(`link[href="${href}"]`)) return;
  const l = document.createElement("link");
  l.rel = "stylesheet"; l.href = href;
  document.head.appendChild(l);
}

// A part's name as a family reads it: the sensor's name, or "Rest of the house".
export const partName = (p) => (p.key === "rest" ? t("usage_rest") : p.name || p.node_id);
export const partColor = (p, i) => (p.key === "rest" ? REST_COLOR : COLORS[i % COLORS.length]);

// Running sums, top part first: stacked[i] is parts 0..i added up, so drawing the last sum first and each
// smaller one over it shows every part as its own band, and the top of the stack is the total.
export function stack(columns) {
  const out = [];
  columns.forEach((col, i) => out.push(col.map((v, j) => (v == null && (i === 0 || out[i - 1][j] == null) ? null : (v ?? 0) + (i ? out[i - 1][j] ?? 0 : 0)))));
  return out;
}

// A time axis's labels for a span: times within a day or two, days within months, months beyond.
export function tickLabel(spanMs) {
  if (spanMs <= 10 * 60000) return time;
  if (spanMs <= 2 * 86400000) return (ms) => (localParts(ms).minute === "00" ? hourLabel(ms) : hourMinute(ms));
  if (spanMs <= 120 * 86400000) return dayMonth;
  return monthYear;
}

// A bucket's label for tables and the legend, by the bucket's size.
export function bucketLabel(resolution) {
  if (resolution === "month") return monthYear;
  if (resolution === "day") return (ms) => dayOfIso(todayIso(ms));
  return dateTime;
}

export function chartHeight(width) {
  const phone = window.innerWidth < 760;
  return phone ? Math.max(260, Math.min(380, Math.round(window.innerHeight * 0.48))) : Math.max(300, Math.min(420, Math.round(width * 0.42)));
}

// uPlot's options every chart here shares: x in seconds, ticks and legend in the household's zone and words.
export function baseOptions(width, spanMs, xLegend, yLabel, yValues) {
  const tick = tickLabel(spanMs);
  return {
    width, height: chartHeight(width),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), getZone()),
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: "#475569", grid: { stroke: "#eef2f1" }, values: (u, ticks) => ticks.map((s) => tick(s * 1000)) },
      { stroke: "#475569", grid: { stroke: "#e2e8e6" }, size: 56, values: (u, ticks) => ticks.map(yValues), label: yLabel, labelSize: 18 },
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    series: [{ label: t("usage_when"), value: (u, s) => (s == null ? "—" : xLegend(s * 1000)) }],
  };
}

export function hashParams() {
  return new URLSearchParams(location.hash.split("?")[1] || "");
}
// Keep the page's choices in the address, so a link or a reload opens the same view.
export function setHashParams(params) {
  const q = new URLSearchParams(params).toString();
  history.replaceState(null, "", "#/usage" + (q ? "?" + q : ""));
}

export { uPlot };
