// Formatting for Indian households: ₹ with lakh/crore grouping (₹1,23,456.78) done on the
// decimal string, so money never passes through a float; times in the household's zone.
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
  i = i.replace(/^0+(?=\d)/, "");
  f = (f + "00").slice(0, decimals);
  return `${sign}₹${groupIndian(i)}${decimals ? "." + f : ""}`;
}

export function num(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  return Number(x).toLocaleString("en-IN", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function watts(w) {
  if (w === null || w === undefined) return "—";
  if (Math.abs(w) >= 10000) return `${num(w / 1000, 2)} kW`;
  return `${num(w, 0)} W`;
}

let zone = "Asia/Kolkata";
export function setZone(z) { zone = z; }
export function getZone() { return zone; }

const fmtCache = new Map();
function fmt(opts) {
  const key = JSON.stringify(opts) + zone;
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat("en-IN", { timeZone: zone, ...opts }));
  return fmtCache.get(key);
}

export function dateTime(ms) {
  if (!ms) return "—";
  return fmt({ day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hour12: true }).format(ms);
}
export function time(ms) { return ms ? fmt({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: true }).format(ms) : "—"; }
export function day(ms) { return ms ? fmt({ weekday: "short", day: "numeric", month: "short", year: "numeric" }).format(ms) : "—"; }
export function dayOfIso(iso) {
  // A local date (YYYY-MM-DD) needs no zone: format it as the calendar date it is.
  if (!iso) return "—";
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat("en-IN", { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" }).format(Date.UTC(y, m - 1, d));
}
export function localParts(ms) {
  const p = Object.fromEntries(fmt({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(ms).map((x) => [x.type, x.value]));
  return p;
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
