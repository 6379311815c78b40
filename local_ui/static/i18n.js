// The dashboard's language: English (strings/en.js, always there) or a translation (strings/<code>.js)
// fetched only when it is chosen, so English pays nothing for the others. This browser's choice is
// kept in localStorage; until it makes one, the gateway's `[ui] language` (GET /session) applies.
// A key a translation lacks reads in English, never as the raw key.
import { shallowRef } from "./vendor/vue/vue.esm-browser.prod.js";
import en from "./strings/en.js";

// Each language's name is written in its own script, so a reader finds theirs whatever is on screen.
export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "ta", name: "தமிழ்" },
  { code: "hi", name: "हिन्दी" },
];
const STORAGE_KEY = "pgw-language";

export const language = shallowRef("en");  // the code in force; Vue re-renders what t() read on a change
const table = shallowRef(en);
const files = { en: Promise.resolve(en) };
const listeners = [];

export const known = (code) => LANGUAGES.some((l) => l.code === code);

// The sentence for `key` in the language in force, in English when the translation lacks it.
export function lookup(key) {
  return table.value[key] ?? en[key];
}

function load(code) {
  if (!files[code]) {
    files[code] = import(`./strings/${code}.js`).then((m) => m.default);
    files[code].catch(() => delete files[code]);  // a failed fetch is tried again on the next choice
  }
  return files[code];
}

function remembered() {
  try { return localStorage.getItem(STORAGE_KEY); } catch { return null; }  // storage off: nothing remembered
}

function show(code, strings) {
  table.value = strings;
  language.value = code;
  document.documentElement.lang = code;
  for (const fn of listeners) fn(code);
}

// The remembered language's file starts loading with this module, beside the session request.
if (known(remembered())) load(remembered()).catch(() => {});

// At start-up: this browser's choice, else the gateway's default, else English. A file that cannot
// load leaves the page in English rather than blank.
export async function startLanguage(gatewayDefault) {
  const code = [remembered(), gatewayDefault].find(known) || "en";
  try { show(code, await load(code)); } catch { show("en", en); }
}

// The user's choice: fetched, shown at once and remembered in this browser. If the file cannot be
// fetched the language stays as it was and the error is thrown for the caller to show.
export async function chooseLanguage(code) {
  if (!known(code)) throw new Error(`unknown language ${JSON.stringify(code)}`);
  show(code, await load(code));
  try { localStorage.setItem(STORAGE_KEY, code); } catch { /* storage off: the choice lasts for this page */ }
}

// Called with the new code after every change (the shell retitles the tab with it).
export function onLanguageChange(fn) { listeners.push(fn); }
