// Run ids as the handler hands them out: the upstream's id and a MAC of it and its owner, so
// that any instance, with no store and no memory shared, knows a run is this proxy's and whose
// (another user's id, or one never made here, is no run). The MAC's key is derived from the
// API key: every instance of one key derives the same, and nothing else needs configuring.
const encoder = new TextEncoder();

/** WebCrypto: global in Node 19+, Deno, Bun, Workers and edge runtimes; node:crypto's in Node 18. */
async function subtle() {
  if (globalThis.crypto?.subtle) return globalThis.crypto.subtle;
  // Named at run time: bundles for Workers and edge runtimes (which have WebCrypto) must not
  // try to resolve a Node module.
  const { webcrypto } = await import(["node", "crypto"].join(":"));
  return webcrypto.subtle;
}

const keys = new Map();

async function macKey(apiKey) {
  let key = keys.get(apiKey);
  if (!key) {
    const crypto = await subtle();
    key = crypto
      .digest("SHA-256", encoder.encode(`runbase-image/server run ids\n${apiKey}`))
      .then((secret) => crypto.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]));
    if (keys.size > 16) keys.clear();
    keys.set(apiKey, key);
  }
  return key;
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function mac(apiKey, owner, id) {
  const crypto = await subtle();
  const signature = await crypto.sign("HMAC", await macKey(apiKey), encoder.encode(`${owner}\n${id}`));
  return base64url(new Uint8Array(signature).subarray(0, 16));
}

/** The id the browser gets for upstream run `id` made by `owner` ("" without sign-in). */
export async function signId(apiKey, owner, id) {
  return `${id}.${await mac(apiKey, owner, id)}`;
}

/** The upstream id in `signed` if this proxy made it for `owner`; else null. */
export async function openId(apiKey, owner, signed) {
  const dot = signed.lastIndexOf(".");
  if (dot <= 0 || signed.length > 200) return null;
  const id = signed.slice(0, dot);
  const given = signed.slice(dot + 1);
  const expected = await mac(apiKey, owner, id);
  // Compared in full, whatever differs first: no timing tells how much of a guess was right.
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ (given.charCodeAt(i) || 0);
  return diff === 0 ? id : null;
}
