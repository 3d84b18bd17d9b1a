// One request through the handler, in runbase-server's order: the route, the origin, the key,
// the caller (sign-in or address) and its window, then a create (body limit, the core's
// admission, the spend guard, the key's window, upstream) or a read (the run's id checked for
// this caller, answered from the shared state, polled upstream only when due). Every refusal,
// validation, window, price and upstream answer is the core's (#wasm); what is here is the
// order and the I/O.
import {
  admitCreate,
  readUpstream,
  isRateLimited,
  refusal as coreRefusal,
  originRefusal,
  userId,
  maxBodyBytes,
  parseRetryAfter,
  pollDelayMs,
  keyWindow,
} from "./wasm.js";
import { signId, openId } from "./ids.js";
import { isFinished } from "./store.js";

export const MODEL = "openai/gpt-image-2";
const MAX_BODY = maxBodyBytes();
const [KEY_REQUESTS, KEY_HOLD_MS] = keyWindow();
/** Requests per 10 s of one caller reading ids the proxy did not make (runbase-server's). */
const LOOKUPS_PER_WINDOW = 20;
const CALLER_WINDOW_MS = 10_000;
const LONG_POLL_HEADER = "X-Runbase-Long-Poll";
const ROUTE = /\/runs(?:\/([^/]*))?\/?$/;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The core's refusal (JSON) as an answer. */
function answerRefusal(json) {
  const refusal = JSON.parse(json);
  const headers = { "content-type": "application/json", "cache-control": "no-store" };
  if (refusal.retryAfterSecs !== undefined) headers["retry-after"] = String(refusal.retryAfterSecs);
  if (refusal.challenge) headers["www-authenticate"] = refusal.challenge;
  return { status: refusal.status, headers, body: JSON.stringify(refusal.body) };
}

const refuse = (kind, text = "", number = 0) => answerRefusal(coreRefusal(kind, text, number));

const json = (status, body, extra = {}) => ({
  status,
  headers: { "content-type": "application/json", "cache-control": "no-store", ...extra },
  body,
});

export class Gateway {
  /** `apiKey`: the key this gateway holds ("" while there is none). */
  constructor(settings, store, apiKey) {
    this.settings = settings;
    this.store = store;
    this.apiKey = apiKey;
  }

  /** `request`: a web Request; `address`: the client's, when the runtime says it. */
  async handle(request, address) {
    const url = new URL(request.url);
    const route = ROUTE.exec(url.pathname);
    const origin = request.headers.get("origin");
    const own = ownOrigins(request, url);
    const cors = this.cors(origin, own);
    if (cors === null) return this.refuseOrigin(origin, own);
    const answer = await this.route(request, url, route, address, cors);
    Object.assign(answer.headers, cors, { "x-runbase-backend": "runbase" });
    return answer;
  }

  async route(request, url, route, address, cors) {
    const method = request.method;
    if (!route) return refuse("not_found", method);
    if (method === "OPTIONS") return { status: 204, headers: cors.preflight ?? {}, body: null };
    const id = route[1];
    if (id === undefined ? method !== "POST" : method !== "GET") {
      return ["GET", "POST"].includes(method) ? refuse("not_found", method) : refuse("method_not_allowed");
    }
    const apiKey = this.apiKey;
    if (!apiKey) {
      return refuse("api_key_missing");
    }
    const caller = await this.caller(request, address);
    if (caller.refusal) return caller.refusal;
    if (id === undefined) return this.create(request, apiKey, caller);
    let signed;
    try {
      signed = decodeURIComponent(id);
    } catch {
      signed = ""; // not even an id: no run
    }
    return this.read(signed, url, apiKey, caller);
  }

  /** The CORS headers for a page at `origin` (none without one), or null when it is refused. */
  cors(origin, own) {
    if (origin === null) return {};
    const allowed = this.settings.allowedOrigins ?? own;
    if (!allowed.includes(origin) && !allowed.includes("*")) return null;
    const headers = {
      "access-control-allow-origin": origin,
      "access-control-expose-headers": `${LONG_POLL_HEADER}, Retry-After, X-Runbase-Backend`,
      vary: "Origin",
    };
    Object.defineProperty(headers, "preflight", {
      enumerable: false,
      value: {
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": "authorization, content-type, prefer",
        "access-control-max-age": "600",
      },
    });
    return headers;
  }

  refuseOrigin(origin, own) {
    const accepted = (this.settings.allowedOrigins ?? own).join(", ");
    if (!this.warned?.has(origin) && (this.warned ??= new Set()).size < 100) {
      this.warned.add(origin);
      console.warn(`runbase-image/server: refused a request from the page at ${String(origin).slice(0, 200)}; allowed: ${accepted} (createRunbaseProxy's allowedOrigins)`);
    }
    return { ...answerRefusal(originRefusal(origin, accepted)), headers: { "content-type": "application/json", "cache-control": "no-store", vary: "Origin" } };
  }

  /** Who the request is from: the signed-in user (with `authenticate`) or the client's
   *  address; a refusal when sign-in is required and missing. */
  async caller(request, address) {
    let caller;
    const { authenticate } = this.settings;
    if (authenticate) {
      let user;
      try {
        user = await authenticate(request);
      } catch (error) {
        console.error("runbase-image/server: authenticate threw; the request was refused (503)", error);
        return { refusal: refuse("auth_unavailable", "The sign-in check failed: retry shortly") };
      }
      if (user === null || user === undefined || user === false) {
        return { refusal: refuse("auth_required", "Sign in first: this proxy serves signed-in users only") };
      }
      if (typeof user !== "string" && typeof user !== "number") {
        console.error(`runbase-image/server: authenticate returned a ${typeof user}, not a user id (a string)`);
        return { refusal: refuse("auth_unavailable", "The sign-in check gave no usable user id") };
      }
      let id;
      try {
        id = userId(String(user));
      } catch (why) {
        console.error(`runbase-image/server: authenticate returned no usable user id: ${why}`);
        return { refusal: refuse("auth_unavailable", "The sign-in check gave no usable user id") };
      }
      caller = { key: `user:${id}`, noun: "user", owner: id };
    } else {
      caller = { key: address || "unknown", noun: "client", owner: "" };
    }
    return caller;
  }

  async create(request, apiKey, caller) {
    // Creates count against the caller's window; reads of its runs cost the key at most one
    // shared poll when due, so only ids that open no run count (as lookups), as behind
    // runbase-server's broker.
    const wait = await this.store.countCall("requests", caller.key, this.settings.clientLimit, CALLER_WINDOW_MS);
    if (wait > 0) return refuse("requests", caller.noun, wait);
    const declared = Number(request.headers.get("content-length") ?? NaN);
    if (declared > MAX_BODY) return refuse("too_large");
    const body = await readBody(request);
    if (body.refusal) return body.refusal;
    const checked = JSON.parse(admitCreate(body.bytes, [MODEL]));
    if (checked.refusal) return answerRefusal(JSON.stringify(checked.refusal));
    const { body: forwarded, resolution, priceMicroUsd } = checked.admitted;
    const hold = await this.reserve(caller, priceMicroUsd);
    if (hold.refusal) return hold.refusal;
    const deadline = Date.now() + this.settings.queueWaitMs;
    // A 429 from the API means no run was made: tried again while the create may still wait.
    for (;;) {
      const sent = await this.send(apiKey, "POST", "/runs", forwarded, "create", deadline);
      if (sent.busy) {
        await this.settle(hold, null);
        return sent.refusal ?? refuse("key_busy", "", sent.waitMs);
      }
      if (sent.failed) {
        // Unanswered: a run may have been made; its price stays counted.
        return sent.failed;
      }
      const { answer, rateLimited } = sent;
      if (rateLimited && Date.now() < deadline) continue;
      if (!answer.run) {
        await this.settle(hold, null);
        return json(answer.status, answer.body, sent.retryAfter ? { "retry-after": sent.retryAfter } : {});
      }
      const run = answer.run;
      await this.settle(hold, run.costUsd ?? hold.price);
      const meta = `${resolution}|${Date.now()}|`;
      await this.remember(run, meta, caller.owner);
      // Its first poll at the client's pace, not at the first read that comes.
      await Promise.resolve(this.store.claimPoll(run.id, pollDelayMs(0))).catch(() => {});
      return this.runAnswer(answer.status, run, apiKey, caller);
    }
  }

  async read(signed, url, apiKey, caller) {
    const id = await openId(apiKey, caller.owner, signed);
    if (id === null) {
      // Each id tried counts as a lookup: guessing costs the caller, never the key.
      const wait = await this.store.countCall("lookups", caller.key, LOOKUPS_PER_WINDOW, CALLER_WINDOW_MS);
      if (wait > 0) return refuse("lookups", caller.noun, wait);
      return refuse("no_such_run", caller.owner ? "No run with this id for this user" : "No run with this id at this proxy");
    }
    const wait = Math.min(Math.max(Number(url.searchParams.get("wait")) || 0, 0), this.settings.longPollSeconds);
    const seen = url.searchParams.get("seen") ?? "";
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const kept = await Promise.resolve(this.store.readRun(id)).catch(() => null);
      const run = kept?.run;
      const news = run && (isFinished(run) || run.status !== seen);
      if (run && (news || (wait > 0 && Date.now() >= deadline))) return this.runAnswer(200, run, apiKey, caller);
      // Polled upstream by one request at a time, at the client's own pace: every browser
      // waiting on the run reads the state it writes.
      const started = Number(kept?.meta?.split("|")[1]) || Date.now();
      const due = !run || (await Promise.resolve(this.store.claimPoll(id, pollDelayMs(Date.now() - started))).catch(() => true));
      if (due) {
        const sent = await this.send(apiKey, "GET", `/runs/${encodeURIComponent(id)}`, null, "poll", Math.max(deadline, Date.now() + 2000));
        if (sent.failed) return sent.failed;
        if (sent.refusal) return sent.refusal;
        if (!sent.busy) {
          const { answer } = sent;
          if (!answer.run) return json(answer.status, answer.body, sent.retryAfter ? { "retry-after": sent.retryAfter } : {});
          await this.remember(answer.run, undefined, caller.owner);
          const changed = isFinished(answer.run) || answer.run.status !== seen;
          if (changed || wait === 0 || Date.now() >= deadline) return this.runAnswer(200, answer.run, apiKey, caller);
        }
      } else if (wait === 0 && run) {
        return this.runAnswer(200, run, apiKey, caller);
      }
      if (Date.now() >= deadline) {
        if (run) return this.runAnswer(200, run, apiKey, caller);
        return refuse("key_busy", "", 1000);
      }
      await sleep(Math.min(500, deadline - Date.now()));
    }
  }

  /** A run as the browser gets it: its id the one this proxy signed for the caller. */
  async runAnswer(status, run, apiKey, caller) {
    const shown = { ...run, id: await signId(apiKey, caller.owner, run.id) };
    const headers = {};
    if (this.settings.longPollSeconds > 0) headers[LONG_POLL_HEADER.toLowerCase()] = String(this.settings.longPollSeconds);
    return json(status, JSON.stringify(shown), headers);
  }

  async remember(run, meta, owner) {
    try {
      await this.store.writeRun(run, meta, owner || undefined);
    } catch (error) {
      // The browser still gets the run: its id opens anywhere, and a read polls it again.
      console.error("runbase-image/server: could not write a run's state to the store", error?.message ?? error);
    }
  }

  /** Reserves a create's price in the spend windows; a refusal when one would overrun. */
  async reserve(caller, price) {
    const guard = this.store.spend;
    if (!this.settings.spendLimited) return {};
    const now = Date.now();
    const windows = JSON.parse(guard.windows(caller.key, caller.noun, now));
    const over = await this.store.reserveSpend(caller.key, caller.noun, price, now, windows);
    if (over === null) return { refusal: refuse("shared_state", "check its spending limits") };
    if (over >= 0) return { refusal: answerRefusal(guard.refusal(caller.key, caller.noun, over, now)) };
    return { caller, price, at: now, windows };
  }

  /** The API answered a create: `charged` for the run made, null when none was made. */
  async settle(hold, charged) {
    if (!hold.caller) return;
    const by = (charged ?? 0) - hold.price;
    await this.store.adjustSpend(hold.caller.key, hold.caller.noun, hold.at, by, hold.windows);
  }

  /** One request upstream in a slot of the key's window, waiting for one until `deadline`.
   *  `{answer, rateLimited, retryAfter}`, `{busy, waitMs}` (no slot in time: nothing sent) or
   *  `{failed}` (no answer, or one that is not the API's). */
  async send(apiKey, method, path, body, want, deadline) {
    const leaseMs = this.settings.upstreamTimeoutMs + KEY_HOLD_MS;
    let member;
    for (;;) {
      let took;
      try {
        took = await this.store.takeSlot(KEY_REQUESTS, leaseMs, want);
      } catch {
        return { busy: true, refusal: refuse("shared_state", "take a slot of the API key's window") };
      }
      if (took.member) {
        member = took.member;
        break;
      }
      if (Date.now() + took.waitMs > deadline) return { busy: true, waitMs: took.waitMs };
      await sleep(took.waitMs);
    }
    let response, bytes;
    try {
      response = await fetch(`${this.settings.upstream}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          accept: "application/json",
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ?? undefined,
        redirect: "manual",
        signal: AbortSignal.timeout(this.settings.upstreamTimeoutMs),
      });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      await this.store.releaseSlot(member, KEY_HOLD_MS, true);
      const timedOut = error?.name === "TimeoutError";
      return { failed: refuse(timedOut ? "upstream_timeout" : "upstream_unreachable") };
    }
    const read = JSON.parse(readUpstream(response.status, bytes, apiKey));
    const answer = read.admitted;
    const rateLimited = Boolean(answer) && isRateLimited(answer.status, answer.body);
    await this.store.releaseSlot(member, KEY_HOLD_MS, !rateLimited);
    if (!answer) return { failed: answerRefusal(JSON.stringify(read.refusal)) };
    const retryAfter = response.headers.get("retry-after");
    if (rateLimited) await this.store.pause(parseRetryAfter(retryAfter ?? "", Date.now()) ?? 0);
    return { answer, rateLimited, retryAfter };
  }
}

/** The app's own origins: the request's URL's, and the names its `Host` (or the platform's
 *  `X-Forwarded-Host`) gives, over http and https. Frameworks build `request.url` their own
 *  way (`next start` always says localhost), while the page's origin is the name it was
 *  loaded from. */
function ownOrigins(request, url) {
  const origins = new Set([url.origin]);
  const forwarded = request.headers.get("x-forwarded-host")?.split(",")[0].trim();
  for (const host of [request.headers.get("host"), forwarded]) {
    if (host && /^[\w.-]+(:\d+)?$|^\[[\d:a-fA-F]+\](:\d+)?$/.test(host)) {
      origins.add(`https://${host}`);
      origins.add(`http://${host}`);
    }
  }
  return [...origins];
}

/** A create's body, read up to the limit and no further. */
async function readBody(request) {
  if (!request.body) return { bytes: new Uint8Array(await request.arrayBuffer()) };
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY) {
        reader.cancel().catch(() => {});
        return { refusal: refuse("too_large") };
      }
      chunks.push(value);
    }
  } catch {
    return { refusal: refuse("incomplete_body") };
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return { bytes };
}
