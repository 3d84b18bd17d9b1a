// The language of the validator's messages. The core writes them in English; a locale's
// catalog (its own file, loaded by loadLocale only when asked for, so English costs nothing
// more) says each issue's message in its language (js/locale-catalog.js).

// Each locale the package ships: its file, as a literal import a bundler can follow.
const CATALOGS = { "zh-CN": () => import("./locales/zh-CN.js") };
/** Each locale loaded: the function that says an English message in it. */
const loaded = {};

/**
 * Loads a locale's messages: true once they are loaded, false for a locale this package does
 * not ship or whose file could not be had (its messages then stay English). Never rejects.
 */
export async function loadLocale(locale) {
  try {
    return Object.hasOwn(CATALOGS, locale) && !!(loaded[locale] = (await CATALOGS[locale]()).default);
  } catch {
    return false;
  }
}

/** The issues with their messages in `locale` (as they are for one not loaded). */
export function inLocale(issues, locale) {
  const say = typeof locale == "string" && Object.hasOwn(loaded, locale) && loaded[locale];
  if (say && Array.isArray(issues)) for (const issue of issues) issue.message = say(issue.message);
  return issues;
}
