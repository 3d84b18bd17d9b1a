// Small DOM and formatting helpers shared by the page's modules. Nothing that comes from the
// server or the user is ever inserted as HTML: text goes through textContent.

export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
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

/** "12.3 s", or "1 min 05 s" past a minute. */
export function seconds(ms) {
  const s = Math.max(0, ms) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
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

/** When a time happened, as a person says it: "14:05", or "24 Nov 14:05" on another day. */
export function when(ms) {
  const date = new Date(ms);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return date.toDateString() === new Date().toDateString()
    ? time : `${date.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

/** localStorage that never throws: with storage blocked (cookies off) the page still works,
 *  remembering nothing. */
export const stored = {
  get(key) { try { return localStorage.getItem(key); } catch { return null; } },
  set(key, value) { try { localStorage.setItem(key, value); } catch { /* not kept */ } },
  remove(key) { try { localStorage.removeItem(key); } catch { /* nothing kept */ } },
};
