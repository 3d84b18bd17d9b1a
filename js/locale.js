// The language of the validator's messages. The core writes them in English; a locale's
// catalog (its own file, loaded by loadLocale only when asked for, so English costs nothing
// more) says each issue's message in its language (js/locale-catalog.js).

// Each locale the package ships: its file, as a literal import a bundler can follow.
const CATALOGS = { "zh-CN": () => import("./locales/zh-CN.js") };
/** Each locale loaded, by name: the function that says an English message in it. */
const loaded = new Map();

/**
 * Loads a locale's messages: true once they are loaded, false for a locale this package does
 * not ship or whose file could not be had (its messages then stay English). Never rejects.
 */
export const loadLocale = async (locale) =>
  Object.hasOwn(CATALOGS, locale) &&
  CATALOGS[locale]().then(({ default: say }) => !!loaded.set(locale, say), () => false);

/** Each issue's message in `locale` (as it is for a locale not loaded). */
export function inLocale(issues, locale) {
  const say = loaded.get(locale);
  if (say && Array.isArray(issues)) for (const issue of issues) issue.message = say(issue.message);
}
