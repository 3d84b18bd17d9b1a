// What a person should do about each error: by API code first, then by kind. Never raw JSON.
// The words are the catalog's (ui/strings/): "error.<code>" and "error.<code>.fix".
import { msg, hasKey } from "./i18n.js";

/** Errors about the key's account: through the proxy the key and its balance are the proxy
 *  owner's, not the person's at this page ("error.proxy.<code>"). */
const PROXY_ACCOUNT = ["missing_api_key", "invalid_api_key", "insufficient_balance", "api_key_spend_limit_exceeded", "ip_not_allowed", "USAGE_EXCEEDED"];

/** The title and the fix of the catalog's `key`. */
const titled = (key, args) => ({ title: msg(key, args), fix: msg(`${key}.fix`) });

/** What to show for an error of the library: { title, fix, detail } (texts of the catalog;
 *  the detail is the error's own message), for the connection ({ mode, baseUrl }) the run
 *  was made on. */
export function explain(error, { mode, baseUrl } = {}) {
  const byCode = typeof error.code === "string" && hasKey(`error.${error.code}.fix`) ? `error.${error.code}` : null;
  if (error.kind === "api" && !byCode) return { ...byStatus(error, baseUrl), detail: error.message };
  if (mode === "proxy" && PROXY_ACCOUNT.includes(error.code)) {
    return { title: msg(`error.proxy.${error.code}`), fix: msg("error.proxy.fix"), detail: error.message };
  }
  const key = byCode ?? (hasKey(`error.kind.${error.kind}`) ? `error.kind.${error.kind}` : "error.other");
  return { ...titled(key), detail: error.message };
}

/** An HTTP error without a documented code: say what the status means here. */
function byStatus(error, baseUrl) {
  if (error.status === 404 || error.status === 405) {
    return baseUrl ? { title: msg("error.status.notFoundAt", { url: baseUrl }), fix: msg("error.status.notFound.fix") } : titled("error.status.notFound");
  }
  if (error.status >= 500) return titled("error.status.server");
  return titled("error.status.other", { status: error.status ?? "error" });
}
