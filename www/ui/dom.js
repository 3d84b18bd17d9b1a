// Small DOM and formatting helpers shared by the page's modules. Nothing that comes from the
// server or the user is ever inserted as HTML: text goes through textContent.
import { localize, keptAttribute, msg } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

/** An element; a text of the catalog (msg, list…) as its textContent or as one of the
 *  attributes language.js keeps follows a change of language. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (value !== null && typeof value === "object" && (key === "textContent" || keptAttribute(key))) localize(node, value, key === "textContent" ? undefined : key);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** Only these may become an <img> source: generated images and local previews. */
export function safeImageUrl(url) {
  if (typeof url !== "string") return null;
  try {
    const parsed = new URL(url, location.href);
    if (["https:", "http:", "blob:"].includes(parsed.protocol)) return parsed.href;
    if (parsed.protocol === "data:" && /^data:image\/[a-z0-9.+-]+[;,]/i.test(url)) return url;
  } catch { /* not a URL */ }
  return null;
}

/** Micro-dollars (1 USD = 1,000,000, as the API counts) as dollars: 50000 → "$0.05". */
export function dollars(micro) {
  return Number.isFinite(micro) && micro >= 0 ? `$${(micro / 1_000_000).toFixed(2)}` : null;
}

/** Bytes as a person reads them, in binary megabytes as the API's "4 MB" is meant. */
export function megabytes(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** "12.3 s", or "1 min 05 s" past a minute (a text of the catalog). */
export function seconds(ms) {
  const s = Math.max(0, ms) / 1000;
  return s < 60 ? msg("time.seconds", { s: s.toFixed(1) })
    : msg("time.minutes", { m: Math.floor(s / 60), s: String(Math.floor(s % 60)).padStart(2, "0") });
}

/** A few words of a prompt for a file name: letters and digits of any script, dashes between. */
export function slug(text, max = 40) {
  const words = String(text).normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  let out = "";
  for (const word of words) {
    if ((out + word).length > max) break;
    out += (out ? "-" : "") + word;
  }
  return out || "image";
}

/** localStorage that never throws (language.js holds it: the first-paint script reads it too). */
export { stored } from "./language.js";
