// The client against a proxy with sign-in (HS256 tokens minted here with node:crypto), in Node
// and in headless Chromium, each importing the built package: `accessToken` as a string or a
// function, the one refresh after `401 auth_expired` (a POST too, since the proxy refused it
// before anything went upstream), kind "auth" when the user's token is refused, and the
// options that cannot go together.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import init, { RunbaseClient } from "../../pkg/node.js";
import { startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

const SECRET = "the tests' shared secret, thirty-two bytes or more";
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An HS256 token for `sub`, expiring `expiresIn` seconds from now (negative: expired). */
function token(sub, expiresIn = 3600) {
  const message = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + expiresIn })}`;
  return `${message}.${createHmac("sha256", SECRET).update(message).digest("base64url")}`;
}
/** Long expired: well past the proxy's 60 s of allowed clock skew. */
const expired = (sub) => token(sub, -600);

let server, browser, page;
before(async () => {
  await init();
  server = await startSimulator({ runMs: 300, env: { RUNBASE_AUTH_HS256_SECRET: SECRET } });
  browser = await launchChromium();
  page = await openPackagePage(browser, server);
});
after(async () => { await browser?.close(); server?.stop(); });

/** Runs created upstream by the proxy so far (its simulator's count for its key). */
const created = async () => (await (await fetch(`${server.url}/__sim/stats`)).json()).keys["sk-sim-proxy"]?.runs_created ?? 0;
const describe = (e) => ({ kind: e.kind, code: e.code, status: e.status, retryable: e.retryable, cause: e.cause?.message });

/** A token function that hands out `tokens` in turn and counts its calls. */
function tokens(...list) {
  const fn = async () => { fn.calls += 1; return list[Math.min(fn.calls, list.length) - 1]; };
  fn.calls = 0;
  return fn;
}

test("Node: an expired token is renewed once and the run is made once", async () => {
  const before = await created();
  const accessToken = tokens(expired("alice"), token("alice"));
  const client = new RunbaseClient({ baseUrl: `${server.url}/api/v1`, accessToken });
  const result = await client.generate({ prompt: "A lamp" });
  assert.equal(result.run.status, "succeeded");
  assert.equal(accessToken.calls, 2, "asked once, then once more after auth_expired");
  assert.equal(await created(), before + 1);
});

test("Node: a read renews the token too, and a run is its creator's alone", async () => {
  const alice = new RunbaseClient({ baseUrl: `${server.url}/api/v1`, accessToken: token("alice") });
  const run = await alice.createRun({ prompt: "A chair" });
  // A second tab of alice's whose token has expired meanwhile.
  const accessToken = tokens(expired("alice"), token("alice"));
  const later = new RunbaseClient({ baseUrl: `${server.url}/api/v1`, accessToken });
  assert.equal((await later.waitForRun(run.id)).status, "succeeded");
  assert.equal(accessToken.calls, 2);
  const bob = new RunbaseClient({ baseUrl: `${server.url}/api/v1`, accessToken: () => token("bob") });
  await assert.rejects(bob.getRun(run.id), (e) => e.kind === "api" && e.code === "run_not_found" && e.status === 404);
});

test("Node: refused tokens are kind \"auth\", never retried in a loop, and nothing is created", async () => {
  const before = await created();
  const base = `${server.url}/api/v1`;
  const fixed = new RunbaseClient({ baseUrl: base, accessToken: expired("alice") });
  await assert.rejects(fixed.createRun({ prompt: "A lamp" }), (e) => {
    assert.deepEqual(describe(e), { kind: "auth", code: "auth_expired", status: 401, retryable: false, cause: undefined });
    return true;
  });
  const stale = tokens(expired("alice"));
  const renewing = new RunbaseClient({ baseUrl: base, accessToken: stale });
  await assert.rejects(renewing.createRun({ prompt: "A lamp" }), (e) => e.kind === "auth" && e.code === "auth_expired");
  assert.equal(stale.calls, 2, "one renewal, no more");
  const anonymous = new RunbaseClient({ baseUrl: base });
  await assert.rejects(anonymous.createRun({ prompt: "A lamp" }), (e) => e.kind === "auth" && e.code === "auth_required");
  const forged = new RunbaseClient({ baseUrl: base, accessToken: token("alice").slice(0, -4) + "AAAA" });
  await assert.rejects(forged.createRun({ prompt: "A lamp" }), (e) => e.kind === "auth" && e.code === "auth_invalid");
  const failing = new RunbaseClient({ baseUrl: base, accessToken: () => { throw new Error("signed out"); } });
  await assert.rejects(failing.createRun({ prompt: "A lamp" }), (e) => {
    assert.deepEqual(describe(e), { kind: "auth", code: "access_token_unavailable", status: undefined, retryable: false, cause: "signed out" });
    return true;
  });
  const empty = new RunbaseClient({ baseUrl: base, accessToken: async () => "" });
  await assert.rejects(empty.createRun({ prompt: "A lamp" }), (e) => e.code === "access_token_unavailable" && /gave no token/.test(e.message));
  assert.equal(await created(), before);
});

test("Node: accessToken goes with neither apiKey nor an Authorization header, and must be a token", () => {
  const invalid = (options, words) => assert.throws(() => new RunbaseClient(options), (e) => e.code === "invalid_options" && words.test(e.message));
  invalid({ apiKey: "sk-x", accessToken: "t" }, /either apiKey .* or accessToken/);
  invalid({ baseUrl: "/api/v1", accessToken: "t", headers: { Authorization: "Bearer x" } }, /either accessToken or an Authorization header/);
  invalid({ baseUrl: "/api/v1", accessToken: 42 }, /accessToken must be a non-empty string/);
  invalid({ baseUrl: "/api/v1", accessToken: "a\r\nb" }, /without line breaks/);
});

test("Chromium: the page's token function is asked again after auth_expired, and the run is made once", async () => {
  const before = await created();
  const [fresh, stale] = [token("carol"), expired("carol")];
  const result = await page.evaluate(async ([stale, fresh]) => {
    let calls = 0;
    const client = new window.lib.RunbaseClient({
      baseUrl: "/api/v1",
      accessToken: () => new Promise((resolve) => setTimeout(() => resolve(++calls === 1 ? stale : fresh), 10)),
    });
    const { run } = await client.generate({ prompt: "A lamp" });
    let refused;
    try {
      await new window.lib.RunbaseClient({ baseUrl: "/api/v1", accessToken: stale }).getRun(run.id);
    } catch (e) {
      refused = { kind: e.kind, code: e.code, isRunbaseError: e instanceof window.lib.RunbaseError };
    }
    return { status: run.status, calls, refused };
  }, [stale, fresh]);
  assert.deepEqual(result, { status: "succeeded", calls: 2, refused: { kind: "auth", code: "auth_expired", isRunbaseError: true } });
  assert.equal(await created(), before + 1);
});
