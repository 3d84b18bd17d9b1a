// The demo's string catalogs (www/ui/strings/), without a browser: every language has every
// key of English with the same {placeholders}, index.html's English is the catalog's, and every
// key the page's code names exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./harness.mjs";
import { LANGUAGES, format, keptText } from "../../www/ui/language.js";
import en from "../../www/ui/strings/en.js";

const WWW = join(ROOT, "www");
const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const others = Object.keys(LANGUAGES).filter((lang) => lang !== "en");

for (const lang of others) {
  test(`${lang}: every English key has a string, with the same {placeholders}`, async () => {
    const { default: catalog } = await import(`../../www/ui/strings/${lang}.js`);
    // Empty only where a language joins sentences with nothing between them, as Chinese does.
    const missing = Object.keys(en).filter((key) => typeof catalog[key] !== "string" || (!catalog[key] && !key.startsWith("sep.")));
    assert.deepEqual(missing, [], `keys without a ${lang} string`);
    assert.deepEqual(Object.keys(catalog).filter((key) => !Object.hasOwn(en, key)), [], `${lang} keys English does not have`);
    const dropped = Object.keys(en).filter((key) => JSON.stringify(placeholders(en[key])) !== JSON.stringify(placeholders(catalog[key])))
      .map((key) => `${key}: ${JSON.stringify(en[key])} → ${JSON.stringify(catalog[key])}`);
    assert.deepEqual(dropped, [], "placeholders differ");
  });
}

test("index.html's English (first paint) is the catalog's, for every text it marks", () => {
  const html = readFileSync(join(WWW, "index.html"), "utf8");
  const normal = (text) => text.replace(/\s+/g, " ").trim();
  let checked = 0;
  for (const [, attrs, text] of html.matchAll(/<[a-z0-9]+\b([^>]*\bdata-i18n=(?:"[^"]*"|'[^']*')[^>]*)>([^<]*)</g)) {
    const [, bare, json] = attrs.match(/\bdata-i18n=(?:"([^"]*)"|'([^']*)')/);
    assert.equal(normal(text), format(en, keptText(bare ?? json), "en"), `the text of ${bare ?? json}`);
    checked++;
  }
  for (const [tag] of html.matchAll(/<[a-z][^>]*\bdata-i18n-[^>]*>/g)) {
    for (const [, name, key] of tag.matchAll(/\bdata-i18n-([a-z-]+)="([^"]*)"/g)) {
      assert.equal(tag.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1], en[key], `the ${name} of ${key}`);
      checked++;
    }
  }
  assert.ok(checked > 40, `${checked} texts checked`);
});

test("every key the page's code names is in the catalog", () => {
  const files = ["app.js", ...readdirSync(join(WWW, "ui")).filter((f) => f.endsWith(".js")).map((f) => join("ui", f))];
  const named = files.flatMap((file) => [...readFileSync(join(WWW, file), "utf8").matchAll(/\b(?:msg|tr)\("([^"]+)"/g)].map((m) => [file, m[1]]));
  assert.ok(named.length > 50);
  const unknown = named.filter(([, key]) => !Object.hasOwn(en, key) && !Object.hasOwn(en, `${key}.other`));
  assert.deepEqual(unknown, []);
});
