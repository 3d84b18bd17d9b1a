// The page in the person's language: its own strings from ./strings/ (English built in, the
// others loaded when chosen), the package's validation messages through its loadLocale when it
// has one, and the switch that changes both without a reload.
import * as runbase from "../pkg/index.js";
import en from "./strings/en.js";
import { LANGUAGES, LANGUAGE_KEY, format, translateAll, ATTRIBUTES, preferredLanguage, markLanguage, stored } from "./language.js";

export { preferredLanguage };

let current = "en";
let strings = en;
/** The options that make the package answer in `current`; undefined in English or when the
 *  package cannot (it refuses a `locale` option it does not know). */
let packageOptions;
const listeners = [];
/** The latest change asked for: a slower earlier one that finishes after it is dropped. */
let asked = 0;

/** Loaded only when chosen: an English visit never fetches them. */
const CATALOGS = { en: async () => en, "zh-CN": async () => (await import("./strings/zh-CN.js")).default };
const loading = new Map();
/** `lang`'s strings, fetched once. */
export function loadStrings(lang) {
  if (!loading.has(lang)) {
    // Not kept when it failed (offline): the next choice of it tries again.
    loading.set(lang, CATALOGS[lang]().catch((error) => { loading.delete(lang); throw error; }));
  }
  return loading.get(lang);
}

export const language = () => current;

/** A message of the catalog, kept as such so that it follows a change of language. */
export const msg = (key, args) => (args ? { key, args } : { key });
/** A list of texts joined as the language joins them: "comma", "or", "dot" (·) or "sentence". */
export const list = (items, sep = "comma") => ({ list: items, sep });
/** A moment as the language says it. */
export const moment = (ms) => ({ when: ms });

/** A text (see language.js's format) as a string in the current language. */
export const t = (text) => format(strings, text, current);
/** t(msg(key, args)). */
export const tr = (key, args) => t(msg(key, args));
export const hasKey = (key) => Object.hasOwn(en, key);
/** A run's status as the API names it, in the chosen language; one it does not document as it is. */
export const runStatus = (status) => (hasKey(`status.${status}`) ? msg(`status.${status}`) : String(status ?? ""));

/** Shows `text` as the node's text, or its attribute `attribute`, and keeps it in the chosen
 *  language: a plain string (a server's message) is shown as it is and kept as it is. */
export function localize(node, text, attribute) {
  const kept = attribute ? `data-i18n-${attribute}` : "data-i18n";
  if (text !== null && typeof text === "object") node.setAttribute(kept, JSON.stringify(text));
  else node.removeAttribute(kept);
  if (attribute) node.setAttribute(attribute, t(text));
  else node.textContent = t(text);
}

/** Whether `name` is an attribute localize() keeps. */
export const keptAttribute = (name) => ATTRIBUTES.includes(name);

/** The options validateInput takes for the chosen language (undefined: the fast path). */
export const validationOptions = () => packageOptions;
/** The client's options with the chosen language's, when the package speaks it. */
export const withLocale = (options) => (packageOptions ? { ...options, ...packageOptions } : options);

/** Called after every change of language, to draw again what is drawn from state. */
export function onLanguageChange(listener) {
  listeners.push(listener);
}

/** Loads `lang`'s strings and the package's messages in it, then shows the page in it. */
export async function useLanguage(lang, { remember = false } = {}) {
  if (!Object.hasOwn(LANGUAGES, lang)) lang = "en";
  const mine = ++asked;
  // The package's messages load beside the strings but are not waited for: the page shows
  // its strings as soon as they are here (a later redraw would move it), and the validation
  // messages, which appear only once something is typed, follow when they arrive.
  const spoken = packageSpeaks(lang);
  const catalog = await loadStrings(lang).catch(() => null);
  if (mine !== asked) return;
  // Strings that could not be fetched: the page stays usable in English.
  if (!catalog) lang = "en";
  if (remember && catalog) stored.set(LANGUAGE_KEY, lang);
  current = lang;
  strings = catalog ?? en;
  packageOptions = undefined;
  markLanguage(lang);
  translateAll(document, strings, lang);
  for (const listener of listeners) listener(lang);
  if (!(await spoken) || !catalog || mine !== asked) return;
  packageOptions = { locale: lang };
  for (const listener of listeners) listener(lang);
}

/** Whether the package gives its messages in `lang`: English always; another once its
 *  loadLocale (in packages that have it) has loaded it. */
async function packageSpeaks(lang) {
  if (lang === "en") return false;
  // Packages from before loadLocale have no such export: undefined (a bundler knows it then).
  const loadLocale = runbase.loadLocale;
  if (typeof loadLocale !== "function") return false;
  try { return (await loadLocale(lang)) === true; } catch { return false; }
}

/** The switch: each language named in itself; the choice is remembered. */
export function setupLanguageSwitch() {
  for (const button of document.querySelectorAll("#language button")) {
    button.addEventListener("click", () => { if (button.lang !== current) useLanguage(button.lang, { remember: true }); });
  }
}
