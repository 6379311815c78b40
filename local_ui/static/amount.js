// Rupee amounts as people in India type them: "1,500", "1,00,000", "₹ 2,500.50", "1500". The same rule as the
// gateway's parser (gateway/billing/money.py parse_amount), so the form refuses on the spot what the API would,
// with a sentence (a strings key) instead of a server round trip. Money stays text: never a float.

// ASCII digits grouped the Indian way (1,23,456), the Western way (123,456) or not at all; at most 2 decimals.
const DIGITS = /^(?:[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3}|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,13})(?:\.([0-9]+))?$/;

// text -> { value: "1500.00" } (what the API takes) or { error: key } for t(): amount_empty, amount_bad,
// amount_decimals, amount_zero. `allowZero` for a budget, where 0 turns it off.
export function parseInr(text, { allowZero = false } = {}) {
  let s = String(text ?? "").trim();
  if (s.startsWith("₹")) s = s.slice(1).trim();
  if (s.toLowerCase().startsWith("rs")) s = s.replace(/^rs\.?\s*/i, "");
  if (!s) return { error: "amount_empty" };
  if (s.startsWith("-")) return { error: "amount_bad" };
  const m = DIGITS.exec(s);
  if (!m) return { error: "amount_bad" };
  const frac = m[1] ?? "";
  if (frac.replace(/0+$/, "").length > 2) return { error: "amount_decimals" };
  const whole = s.split(".")[0].replace(/,/g, "").replace(/^0+(?=\d)/, "");
  const paise = (frac + "00").slice(0, 2);
  if (!allowZero && /^0+$/.test(whole) && paise === "00") return { error: "amount_zero" };
  return { value: `${whole}.${paise}` };
}
