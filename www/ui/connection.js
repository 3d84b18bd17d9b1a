// How the page reaches Runbase: through the proxy (which holds the key) or with the user's own
// key; what the backend behind it is, said honestly in the badge.
import { RunbaseClient } from "../pkg/index.js";
import { $, stored } from "./dom.js";
import { localize, msg, withLocale } from "./i18n.js";

const KEY_KEY = "runbase-demo-key";
let backend = null; // { backend: "simulator" | "runbase", apiBase } from our server, if any
/** Whether the server has been asked: until then the badge keeps saying "connecting…". */
let detected = false;

export function mode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

/** The current connection: { mode, baseUrl, apiKey? }. */
export function connection() {
  if (mode() === "key") return { mode: "key", baseUrl: $("key-url").value.trim(), apiKey: $("api-key").value.trim() };
  return proxyConnection($("proxy-url").value.trim() || "/api/v1");
}

/** Through the proxy at `baseUrl`, with the user's access token when one was given. */
export function proxyConnection(baseUrl) {
  const accessToken = $("access-token").value.trim();
  return accessToken ? { mode: "proxy", baseUrl, accessToken } : { mode: "proxy", baseUrl };
}

export function client({ mode, baseUrl, apiKey, accessToken }) {
  // Its refusals (the issues of an invalid input) in the chosen language, when the package speaks it.
  return new RunbaseClient(withLocale(mode === "key" ? { apiKey, baseUrl } : accessToken ? { baseUrl, accessToken } : { baseUrl }));
}

/** The proxy serves signed-in users only: the field for the user's access token is shown. */
export function askForToken({ focus = true } = {}) {
  $("token-fields").hidden = false;
  if (focus) $("access-token").focus();
}

/** Why this base URL cannot work (a text of the catalog), or null: an http(s) URL, or a path
 *  on this site ("/api/v1"). */
export function baseUrlProblem(text) {
  if (!text) return msg("url.empty");
  if (/\s/.test(text)) return msg("url.space", { text });
  if (text.startsWith("/") && !text.startsWith("//")) return null;
  let url;
  try { url = new URL(text); } catch {
    return msg("url.invalid", { text });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return msg("url.protocol", { protocol: url.protocol });
  return null;
}

/** What stands between this connection and Generate, or null. */
export function connectionProblem(conn = connection()) {
  const url = baseUrlProblem(conn.baseUrl);
  if (url) return url;
  if (conn.mode === "key" && !conn.apiKey) return msg("connection.needKey");
  return null;
}

/** Whether runs made over this connection go to the built-in simulator (nothing is charged). */
export function simulated(conn = connection()) {
  if (backend?.backend !== "simulator") return false;
  if (conn.mode === "proxy") return true;
  try { return new URL(conn.baseUrl, location.href).origin === location.origin; } catch { return false; }
}

/** The badge and the hints follow the mode and the URL in use, never only the server. */
export function renderConnection() {
  const conn = connection();
  const badge = $("backend");
  let host = "";
  try { host = new URL(conn.baseUrl, location.href).host; } catch { /* shown as a problem below */ }
  // Until the server has said what it is, the badge says "connecting…" (index.html's).
  const [key, tone] = !detected ? ["badge.connecting", ""] : simulated(conn)
    ? [conn.mode === "key" ? "badge.keySimulator" : "badge.simulator", "simulated"]
    : conn.mode === "key" ? ["badge.key", "paid"]
    : backend?.backend === "runbase" ? ["badge.proxy", "paid"]
    : ["badge.none", ""];
  localize(badge, msg(key, { host: host || "?" }));
  badge.className = `badge ${tone}`;
  localize($("key-hint"), msg(simulated({ ...conn, mode: "key" }) && conn.mode === "key" ? "connection.keyHintSimulator" : "connection.keyHint"));
  // The library warns in the console about a key of another shape; the page says it here.
  const apiKey = $("api-key").value.trim();
  localize($("api-key-issue"), apiKey && !apiKey.startsWith("sk-") ? msg("connection.keyShape") : "");
  for (const [field, value] of [["proxy-url", $("proxy-url").value.trim() || "/api/v1"], ["key-url", $("key-url").value.trim()]]) {
    const problem = baseUrlProblem(value);
    localize($(`${field}-issue`), problem ?? "");
    $(field).setAttribute("aria-invalid", String(Boolean(problem)));
  }
}

/** Asks our own server what it is; a static host answers nothing, which is fine. */
export async function detectBackend() {
  try {
    const answer = await fetch("/__runbase/backend", { headers: { Accept: "application/json" } });
    if (answer.ok) backend = await answer.json();
  } catch { /* a static host: no backend info */ }
  detected = true;
  if (backend?.backend === "simulator") $("key-url").value = new URL("/sim/v1", location.href).href;
  if (backend?.apiBase) $("proxy-url").value = backend.apiBase;
  if (backend?.signIn) askForToken({ focus: false });
  renderConnection();
}

/** Restores a remembered key and wires the mode switch and the remember box. */
export function setupConnection(onChange) {
  const remembered = stored.get(KEY_KEY);
  if (remembered) { $("api-key").value = remembered; $("remember-key").checked = true; }
  for (const input of document.querySelectorAll('input[name="mode"]')) {
    input.addEventListener("change", () => {
      $("key-fields").hidden = mode() !== "key";
      $("proxy-fields").hidden = mode() !== "proxy";
      onChange();
    });
  }
  $("remember-key").addEventListener("change", () => {
    if (!$("remember-key").checked) stored.remove(KEY_KEY);
  });
}

/** Called at Generate: stores the key only when the user ticked the box. */
export function rememberKeyIfAsked(conn) {
  if (conn.mode === "key" && $("remember-key").checked) stored.set(KEY_KEY, conn.apiKey);
}
