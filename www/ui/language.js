// The page's languages, without the page: which one to show, and a text in it from a catalog.
// Imports nothing, so that the script inlined at the end of the built page (first-paint.js),
// which puts the Chinese strings in place before the first paint, shares this code.

/** localStorage that never throws: with storage blocked (cookies off) the page still works,
 *  remembering nothing. */
export const stored = {
  get(key) { try { return localStorage.getItem(key); } catch { return null; } },
  set(key, value) { try { localStorage.setItem(key, value); } catch { /* not kept */ } },
  remove(key) { try { localStorage.removeItem(key); } catch { /* nothing kept */ } },
};

/** The languages the page speaks, by the tag `<html lang>` takes, each named in itself. */
export const LANGUAGES = { en: "English", "zh-CN": "中文" };
/** Where the person's own choice is kept. */
export const LANGUAGE_KEY = "runbase-demo-language";

/** The choice made at this page if any, else the browser's: any Chinese (zh, zh-TW, …) → zh-CN. */
export function preferredLanguage() {
  const chosen = stored.get(LANGUAGE_KEY);
  if (Object.hasOwn(LANGUAGES, chosen ?? "")) return chosen;
  const asked = navigator.languages?.length ? navigator.languages : [navigator.language ?? ""];
  const first = asked.find((tag) => /^(en|zh)\b/i.test(tag)) ?? "en";
  return /^zh\b/i.test(first) ? "zh-CN" : "en";
}

/** A text as a catalog says it. `text` is a string (shown as it is: a server's message, a
 *  name), a message `{ key, args }` (its args texts too), a list `{ list, sep }` joined by
 *  the catalog's `sep.<sep>` ("or" joins the last one with "or"), or a moment `{ when: ms }`.
 *  A message with `args.n` takes `key.one` / `key.other` when the catalog has no `key`. */
export function format(strings, text, lang) {
  if (text === null || text === undefined) return "";
  if (typeof text !== "object") return String(text);
  if (Array.isArray(text)) return format(strings, { list: text, sep: "sentence" }, lang);
  if ("when" in text) return when(text.when, lang);
  if ("list" in text) {
    const parts = text.list.map((part) => format(strings, part, lang)).filter(Boolean);
    if (text.sep === "or" && parts.length > 1) return parts.slice(0, -1).join(strings["sep.comma.or"]) + strings["sep.or"] + parts.at(-1);
    return parts.join(strings[`sep.${text.sep ?? "comma"}`] ?? " ");
  }
  const args = text.args ?? {};
  let template = strings[text.key];
  if (template === undefined && "n" in args) template = strings[`${text.key}.${new Intl.PluralRules(lang).select(args.n)}`] ?? strings[`${text.key}.other`];
  if (template === undefined) return text.key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? format(strings, args[name], lang) : whole));
}

/** When a time happened, as a person says it: "14:05", or "24 Nov 14:05" on another day. */
function when(ms, lang) {
  const date = new Date(ms);
  // English in the browser's own English (en-GB says 14:05, en-US 02:05 PM).
  const locale = lang === "en" ? (navigator.languages ?? []).find((tag) => /^en\b/i.test(tag)) ?? "en" : lang;
  const time = date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  return date.toDateString() === new Date().toDateString()
    ? time : `${date.toLocaleDateString(locale, { day: "numeric", month: "short" })} ${time}`;
}

/** Marks the page as in `lang`: `<html lang>` and the switch's pressed button. */
export function markLanguage(lang) {
  document.documentElement.lang = lang;
  for (const button of document.querySelectorAll("#language button")) button.setAttribute("aria-pressed", String(button.lang === lang));
}

/** The attributes a node's texts are kept in: `data-i18n` holds its text, `data-i18n-<name>`
 *  its attribute <name>; each a catalog key, or a text as JSON (see format). */
export const ATTRIBUTES = ["placeholder", "aria-label", "title", "alt", "content"];

/** Reads a kept text back: a bare key, or JSON. */
export function keptText(value) {
  return value.startsWith("{") || value.startsWith("[") ? JSON.parse(value) : { key: value };
}

/** Every kept text under `root` in the language of `strings`. */
export function translateAll(root, strings, lang) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    const text = format(strings, keptText(node.dataset.i18n), lang);
    if (node.textContent !== text) node.textContent = text;
  }
  for (const name of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${name}]`)) {
      node.setAttribute(name, format(strings, keptText(node.getAttribute(`data-i18n-${name}`)), lang));
    }
  }
}
