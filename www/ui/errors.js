// What a person should do about each error: by API code first, then by kind. Never raw JSON.

const FIXES = {
  missing_api_key: ["No API key was sent", "Enter your key, or switch to “Through the proxy”."],
  invalid_api_key: ["The API key was refused", "Check the key: it is invalid, disabled or expired."],
  insufficient_balance: ["Your balance is too low for this run", "Top up your Runbase balance, then try again."],
  api_key_spend_limit_exceeded: ["This key reached its spend limit", "Raise the key's limit in your Runbase dashboard, or use another key."],
  ip_not_allowed: ["This key does not accept requests from here", "Add this machine's IP address to the key's allow-list."],
  run_not_found: ["The run was not found", "It may belong to another key, or have expired."],
  RATE_LIMITED: ["Too many requests right now", "Wait a few seconds and try again."],
  USAGE_EXCEEDED: ["This key's quota is used up", "Retrying will not help until the quota resets or you upgrade."],
  invalid_input: ["The API refused the input", "Fix the problems listed under the fields."],
  invalid_json: ["The request was not valid JSON", "This is a bug in the page: please report it."],
  missing_model: ["The request named no model", "This is a bug in the page: please report it."],
  missing_input: ["The request had no input", "This is a bug in the page: please report it."],
  model_not_found: ["The API does not know this model", "Check the model id."],
  model_not_allowed: ["The proxy does not run this model", "Ask the proxy's owner to allow it."],
  origin_not_allowed: ["The proxy refused this page's origin", "Open the demo from the proxy's own address, or add this origin to its --allowed-origins."],
  payload_too_large: ["The request is too large", "Use fewer or smaller reference images."],
  server_busy: ["The proxy is busy", "Wait a few seconds and try again."],
  spend_limit_reached: ["The proxy's spending limit for you is reached", "Try again later."],
  auth_required: ["This proxy serves signed-in users only", "Paste your access token in “Access token” above, then generate again."],
  auth_invalid: ["The proxy refused your access token", "Sign in again, paste the fresh token in “Access token” above, and generate again."],
  auth_expired: ["Your access token has expired", "Sign in again, paste the fresh token in “Access token” above, and generate again."],
  auth_unavailable: ["The proxy cannot check sign-ins right now", "Wait a few seconds and try again."],
  upstream_timeout: ["Runbase did not answer in time", "Try again; if a run was created it is in the history."],
  upstream_unreachable: ["The proxy could not reach Runbase", "Check the proxy's network, then try again."],
  SHARED_STATE_UNAVAILABLE: ["The proxy cannot start new runs right now", "Wait a few seconds and try again: runs already going are not affected."],
};

const KIND_FIXES = {
  network: ["Could not reach the API", "Check your connection and the base URL. With your own key the API may not accept requests from a web page (CORS): “Through the proxy” avoids this."],
  timeout: ["The run is taking too long", "It may still finish: it stays in the history, where it can be opened later."],
  run_failed: ["The model could not make this image", "Change the prompt or the reference images and try again."],
  decode: ["The API's answer could not be read", "Check the base URL: it should point at the API (ending in /v1), not at a web page."],
  validation: ["The input is not valid", "Fix the problems listed under the fields."],
  auth: ["Your access token could not be used", "Sign in again, paste the fresh token in “Access token” above, and generate again."],
};

/** Errors about the key's account: through the proxy the key and its balance are the proxy
 *  owner's, not the person's at this page. */
const PROXY_ACCOUNT = {
  missing_api_key: "The proxy sent no API key",
  invalid_api_key: "The proxy's API key was refused",
  insufficient_balance: "The proxy's Runbase balance is too low for this run",
  api_key_spend_limit_exceeded: "The proxy's key reached its spend limit",
  ip_not_allowed: "The proxy's key does not accept requests from the proxy's address",
  USAGE_EXCEEDED: "The proxy's key has used up its quota",
};

/** What to show for an error of the library: { title, fix, detail }, for the connection
 *  ({ mode, baseUrl }) the run was made on. */
export function explain(error, { mode, baseUrl } = {}) {
  if (error.kind === "api" && !FIXES[error.code]) return byStatus(error, baseUrl);
  const [title, fix] = FIXES[error.code] ?? KIND_FIXES[error.kind] ?? ["Something went wrong", "Try again."];
  if (mode === "proxy" && Object.hasOwn(PROXY_ACCOUNT, error.code)) {
    return { title: PROXY_ACCOUNT[error.code], fix: "This is for whoever runs this proxy to fix (its key holds the balance and the limits); tell them, or use your own key.", detail: error.message };
  }
  return { title, fix, detail: error.message };
}

/** An HTTP error without a documented code: say what the status means here. */
function byStatus(error, baseUrl) {
  const where = baseUrl ? ` (${baseUrl})` : "";
  if (error.status === 404 || error.status === 405) {
    return {
      title: `Nothing answers at this base URL${where}`,
      fix: "A base URL ends in /v1: https://api.runbase.net/v1 with your own key, or your proxy's address such as /api/v1.",
      detail: error.message,
    };
  }
  if (error.status >= 500) {
    return { title: "The API had a problem on its side", fix: "Try again in a moment; if a run was created it is in the history.", detail: error.message };
  }
  return { title: `The API refused the request (HTTP ${error.status ?? "error"})`, fix: "Check the connection settings above, then try again.", detail: error.message };
}
