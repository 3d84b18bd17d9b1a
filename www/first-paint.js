// Inlined by scripts/build-demo.mjs at the end of the built page's <body>, before the first
// paint: a page whose person reads Chinese is drawn in Chinese from the start (no English
// flash, no shift when app.js would translate it). It carries the strings of index.html's
// elements only (`STATIC_STRINGS`, filled in by the build); app.js brings the rest.
import { preferredLanguage, translateAll, markLanguage } from "./ui/language.js";

const lang = preferredLanguage();
if (lang !== "en") {
  markLanguage(lang);
  translateAll(document, STATIC_STRINGS[lang], lang);
  // The rest of the language's strings, fetched beside app.js instead of after it.
  for (const href of PRELOAD[lang] ?? []) document.head.append(Object.assign(document.createElement("link"), { rel: "modulepreload", href }));
}
