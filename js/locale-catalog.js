// What a locale's file is made of (js/locales/): its catalog of the validator's messages,
// [id, English, translation], turned into a function that says an English message in that
// language. The core writes every message in English from the texts of src/core/messages.rs;
// a message is matched against each English text, its arguments read off (those that are
// messages themselves, or lists, said in the language too) and the translation filled in. A
// message no text matches stays as it is. Loaded with a locale only: English costs nothing.

// Arguments that are lists of quoted values ("a", "b" or "c"), lists of names (a, b, c), and
// messages of their own (the ids they may be start so; empty stays empty).
const QUOTED = new Set(["allowed", "ratios", "resolutions", "models"]);
const NAMES = new Set(["fields", "schemes"]);
const NESTED = {
  given: "given_", why: "why_", char: "char_", ratio: "ratio_",
  did_you_mean: "did_you_mean", media_type: "data_url_no_type",
};
const PARTS = /\{\{|\}\}|\{([a-z_]+)\}/g;
const fill = (text, args) => text.replace(PARTS, (part, name) => (name ? args[name] ?? part : part[0]));

/** A locale's catalog as the function js/locale.js calls: (message) => the message in it. */
export function catalog({ list: [separator, lastSeparator], messages }) {
  const texts = messages.map(([id, english, said]) => {
    const names = [];
    let source = "";
    let at = 0;
    for (const part of english.matchAll(PARTS)) {
      source += escape(english.slice(at, part.index));
      if (part[1]) {
        names.push(part[1]);
        // A whole quoted value first (a field name or URL may hold the text that follows).
        source += '("(?:[^"\\\\]|\\\\.)*"|[\\s\\S]*?)';
      } else {
        source += escape(part[0][0]);
      }
      at = part.index + part[0].length;
    }
    source += escape(english.slice(at));
    const nested = Object.values(NESTED).some((prefix) => id.startsWith(prefix));
    return { id, nested, pattern: new RegExp(`^${source}$`), names, said };
  });
  const argument = (name, value) => {
    if (QUOTED.has(name)) {
      const items = [...value.matchAll(/"[^"]*"/g)].map((m) => m[0]);
      return items.length > 1
        ? items.slice(0, -1).join(separator) + lastSeparator + items.at(-1)
        : value;
    }
    if (NAMES.has(name)) return value.split(", ").join(separator);
    if (name in NESTED && value) return say(value, NESTED[name]);
    return value;
  };
  function say(message, prefix) {
    for (const { id, nested, pattern, names, said } of texts) {
      if (prefix === undefined ? nested : !id.startsWith(prefix)) continue;
      const found = pattern.exec(message);
      if (!found) continue;
      const args = {};
      names.forEach((name, i) => { args[name] = argument(name, found[i + 1]); });
      return fill(said, args);
    }
    return message;
  }
  return (message) => say(message);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
