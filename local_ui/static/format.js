// Formatting for Indian households, the same in every browser language: ₹ with lakh/crore grouping
// (₹1,23,456.78) done on the decimal string, so money never passes through a float; numbers in ASCII
// digits with Indian grouping; dates day-month-year ("6 Dec 2026") and times in the household's zone.
import { lookup } from "./i18n.js";

export function t(key, vars = {}) {
  const s = lookup(key) ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

export function groupIndian(intDigits) {
  if (intDigits.length <= 3) return intDigits;
  const last3 = intDigits.slice(-3);
  let rest = intDigits.slice(0, -3);
  const parts = [];
  while (rest.length > 2) { parts.unshift(rest.slice(-2)); rest = rest.slice(0, -2); }
  if (rest) parts.unshift(rest);
  return parts.join(",") + "," + last3;
}

// amount: a string like "123456.78" (what the API sends) or an integer number of rupees.
export function inr(amount, { decimals = 2 } = {}) {
  if (amount === null || amount === undefined || amount === "") return "—";
  let s = typeof amount === "number" ? amount.toFixed(decimals) : String(amount).trim();
  let sign = "";
  if (s.startsWith("-")) { sign = "−"; s = s.slice(1); }
  let [i, f = ""] = s.split(".");
  [i, f] = roundHalfUp(i.replace(/^0+(?=\d)/, ""), f, decimals);
  if (!/[1-9]/.test(i + f)) sign = "";
  return `${sign}₹${groupIndian(i)}${decimals ? "." + f : ""}`;
}

// The digits i.f rounded half up to `decimals` places, on the strings (no float): ("1331", "99", 0) -> ("1332", "").
function roundHalfUp(i, f, decimals) {
  let all = i + (f + "0".repeat(decimals)).slice(0, decimals);
  if ((f[decimals] || "0") >= "5") {
    const d = all.split("");
    let k = d.length - 1;
    while (k >= 0 && d[k] === "9") d[k--] = "0";
    if (k < 0) d.unshift("1"); else d[k] = String(Number(d[k]) + 1);
    all = d.join("");
  }
  return [all.slice(0, all.length - decimals) || "0", decimals ? all.slice(all.length - decimals) : ""];
}

// x with `digits` decimals, ASCII digits and Indian grouping (1,23,456.7), whatever the browser's language.
export function num(x, digits = 1) {
  if (x === null || x === undefined || x === "" || Number.isNaN(Number(x))) return "—";
  let s = Number(x).toFixed(digits);
  let sign = "";
  if (s.startsWith("-")) { s = s.slice(1); if (/[1-9]/.test(s)) sign = "−"; }
  const [i, f] = s.split(".");
  return sign + groupIndian(i) + (f ? "." + f : "");
}

export function watts(w) {
  if (w === null || w === undefined) return "—";
  if (Math.abs(w) >= 10000) return `${num(w / 1000, 2)} kW`;
  return `${num(w, 0)} W`;
}

let zone = "Asia/Kolkata";
export function setZone(z) { zone = z; }
export function getZone() { return zone; }

// Dates and times are built from numeric parts in the household's zone ("6 Dec 2026", "9:05 pm"), so they
// read the same in every browser language; month names and am/pm come from the strings file.
const partsCache = new Map();
export function localParts(ms, z = zone) {
  if (!partsCache.has(z)) {
    partsCache.set(z, new Intl.DateTimeFormat("en-US", { timeZone: z, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "short" }));
  }
  const p = Object.fromEntries(partsCache.get(z).formatToParts(ms).map((x) => [x.type, x.value]));
  if (p.hour === "24") p.hour = "00";
  return p;
}
const WEEKDAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
function monthName(m) { return t("months_short").split(" ")[Number(m) - 1]; }
function dayMonthYear(y, m, d) { return `${Number(d)} ${monthName(m)} ${y}`; }
export function clock(p, seconds = false) {
  const h = Number(p.hour);
  const hh = h % 12 === 0 ? 12 : h % 12;
  return `${hh}:${p.minute}${seconds ? ":" + p.second : ""} ${t(h < 12 ? "time_am" : "time_pm")}`;
}

export function dateTime(ms) {
  if (!ms) return "—";
  const p = localParts(ms);
  return `${dayMonthYear(p.year, p.month, p.day)}, ${clock(p)}`;
}
export function time(ms) { return ms ? clock(localParts(ms), true) : "—"; }
export function hourMinute(ms) { return ms ? clock(localParts(ms)) : "—"; }
// "9 pm", "12 am": an hour of the day on a chart's axis.
export function hourLabel(ms) {
  const h = Number(localParts(ms).hour);
  return `${h % 12 === 0 ? 12 : h % 12} ${t(h < 12 ? "time_am" : "time_pm")}`;
}
export function day(ms) {
  if (!ms) return "—";
  const p = localParts(ms);
  return `${t("weekdays_short").split(" ")[WEEKDAYS[p.weekday]]} ${dayMonthYear(p.year, p.month, p.day)}`;
}
export function dayMonth(ms) { const p = localParts(ms); return `${Number(p.day)} ${monthName(p.month)}`; }
export function monthYear(ms) { const p = localParts(ms); return `${monthName(p.month)} ${p.year}`; }
export function dayOfIso(iso) {
  // A local date (YYYY-MM-DD) needs no zone: it is the calendar date it names.
  if (!iso) return "—";
  const [y, m, d] = iso.split("-");
  return dayMonthYear(y, m, d);
}
export function todayIso(ms = Date.now()) {
  const p = localParts(ms);
  return `${p.year}-${p.month}-${p.day}`;
}

export function ago(ms, now = Date.now()) {
  if (!ms) return t("never");
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 2) return t("just_now");
  if (s < 90) return t("ago_s", { n: s });
  if (s < 5400) return t("ago_m", { n: Math.round(s / 60) });
  if (s < 172800) return t("ago_h", { n: Math.round(s / 3600) });
  return t("ago_d", { n: Math.round(s / 86400) });
}
