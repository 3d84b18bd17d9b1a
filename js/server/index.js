// runbase-image/server: the key-holding proxy as a route handler, for the runtimes web apps
// are deployed on. createRunbaseProxy(options) checks its options once and returns the same
// handler in each runtime's shape: fetch(request) (Workers, Deno.serve, Bun.serve, Hono,
// SvelteKit, Remix), GET / POST / OPTIONS (Next.js route handlers, Node and edge) and
// node(req, res) (node:http, Express, Fastify's raw request). The rules are the core's,
// compiled to wasm: the same code runbase-server runs (src/core/gateway/).
import { optionNames, closestOption, maxBodyBytes, refusal } from "./wasm.js";
import { Gateway } from "./gateway.js";
import { openStore, isRedisClient } from "./store.js";

const DEFAULT_UPSTREAM = "https://api.runbase.net/v1";
const OPTIONS = new Set(optionNames());

/** A bad option, named: thrown by createRunbaseProxy, never at a request. */
function optionError(name, problem) {
  return new TypeError(`createRunbaseProxy: option "${name}" ${problem}`);
}

function positive(options, name, fallback, { integer = false, max = Infinity } = {}) {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
    throw optionError(name, `must be a positive ${integer ? "whole " : ""}number${max < Infinity ? ` up to ${max}` : ""}, not ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/** The options checked and completed with runbase-server's defaults. */
function settingsOf(options) {
  if (options === null || typeof options !== "object") {
    throw new TypeError("createRunbaseProxy: pass one options object, at least { apiKey: process.env.RUNBASE_API_KEY }");
  }
  for (const name of Object.keys(options)) {
    if (!OPTIONS.has(name)) {
      const meant = closestOption(name);
      throw optionError(name, `is not an option${meant ? ` (did you mean "${meant}"?)` : ""}; the options are ${[...OPTIONS].join(", ")}`);
    }
  }
  if (!("apiKey" in options)) {
    throw optionError("apiKey", "is required: the Runbase API key (a string, or a function that returns one), e.g. apiKey: process.env.RUNBASE_API_KEY");
  }
  const { apiKey } = options;
  // Undefined is allowed: `next build` loads route modules without the secret; requests are
  // then refused (500 api_key_missing) until it is there.
  if (apiKey !== undefined && typeof apiKey !== "string" && typeof apiKey !== "function") {
    throw optionError("apiKey", `must be a string or a function, not ${typeof apiKey}`);
  }
  let upstream = options.upstream ?? DEFAULT_UPSTREAM;
  try {
    const url = new URL(upstream);
    if (!/^https?:$/.test(url.protocol) || url.search || url.hash || url.username) throw new Error();
    upstream = url.href.replace(/\/+$/, "");
  } catch {
    throw optionError("upstream", `must be the API's http(s) base URL, such as ${DEFAULT_UPSTREAM}, not ${JSON.stringify(options.upstream)}`);
  }
  let allowedOrigins;
  if (options.allowedOrigins !== undefined) {
    if (!Array.isArray(options.allowedOrigins)) throw optionError("allowedOrigins", "must be an array of origins, such as [\"https://app.example.com\"]");
    allowedOrigins = options.allowedOrigins.map((origin) => {
      if (origin === "*") return origin;
      let parsed;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = null;
      }
      if (typeof origin !== "string" || !parsed || parsed.origin !== origin) {
        throw optionError("allowedOrigins", `has ${JSON.stringify(origin)}, which is not an origin (scheme, host and port, no path or trailing slash: "https://app.example.com")`);
      }
      return origin;
    });
  }
  for (const name of ["authenticate", "clientAddress"]) {
    if (options[name] !== undefined && typeof options[name] !== "function") throw optionError(name, `must be a function, not ${typeof options[name]}`);
  }
  if (options.redis !== undefined && !isRedisClient(options.redis)) {
    throw optionError("redis", "must be a connected node-redis (v4 or later) or ioredis client");
  }
  const spend = ["spendPerClientHourUsd", "spendPerClientDayUsd", "spendPerDayUsd"].map((name) => positive(options, name, undefined));
  const settings = {
    apiKey,
    upstream,
    allowedOrigins,
    authenticate: options.authenticate,
    clientAddress: options.clientAddress,
    redis: options.redis,
    // runbase-server's defaults: --client-limit (with the broker), --long-poll-s,
    // --queue-wait-ms and --upstream-timeout-ms.
    clientLimit: positive(options, "clientLimit", 20, { integer: true }),
    longPollSeconds: positive(options, "longPollSeconds", 25, { integer: true, max: 60 }),
    queueWaitMs: positive(options, "queueWaitMs", 30_000),
    upstreamTimeoutMs: positive(options, "upstreamTimeoutMs", 60_000),
    spend,
    spendLimited: spend.some((limit) => limit !== undefined),
  };
  if (!settings.authenticate) {
    console.warn("runbase-image/server: no authenticate option: anyone who can load your page can spend through this proxy, within the limits per client address (clientLimit, spendPerClient…Usd)");
  }
  return settings;
}

/** The client's address, as the runtime or the platform's proxy says it. */
function addressOf(request, context, settings) {
  if (settings.clientAddress) return String(settings.clientAddress(request) ?? "");
  const fromRuntime =
    context?.remoteAddr?.hostname ?? // Deno.serve's info
    (typeof context?.requestIP === "function" ? context.requestIP(request)?.address : undefined) ?? // Bun.serve's server
    context?.incoming?.socket?.remoteAddress; // @hono/node-server's c.env
  if (fromRuntime) return fromRuntime;
  const headers = request.headers;
  return (
    headers.get("cf-connecting-ip") ??
    headers.get("x-real-ip") ??
    headers.get("x-forwarded-for")?.split(",")[0].trim() ??
    ""
  );
}

const toResponse = ({ status, headers, body }) => new Response(body, { status, headers });

/** A node:http request as a web Request (the body already parsed by Express is used as it is). */
async function fromNode(req) {
  const proto = req.socket?.encrypted ? "https" : "http";
  const url = new URL(req.originalUrl ?? req.url ?? "/", `${proto}://${req.headers.host ?? "localhost"}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !name.startsWith(":")) headers.set(name, Array.isArray(value) ? value.join(", ") : String(value));
  }
  let body;
  if (req.method === "POST") {
    if (req.body !== undefined && (req.readableEnded || req.complete)) {
      // A body parser went first (express.json()): its result, as JSON again.
      body = typeof req.body === "string" || req.body instanceof Uint8Array ? req.body : JSON.stringify(req.body);
      headers.delete("content-length");
    } else {
      // Kept up to one byte past the limit (the handler then refuses it: 413); the rest is
      // read and dropped, so that the client, still sending, can read the answer.
      const limit = maxBodyBytes() + 1;
      let size = 0;
      body = new ReadableStream({
        start(controller) {
          req.on("data", (chunk) => {
            if (size > limit) return;
            size += chunk.length;
            controller.enqueue(new Uint8Array(chunk));
            if (size > limit) controller.close();
          });
          req.on("end", () => size <= limit && controller.close());
          req.on("error", (error) => size <= limit && controller.error(error));
        },
        cancel() {
          size = Infinity;
          req.resume();
        },
      });
    }
  }
  return new Request(url, { method: req.method, headers, body, duplex: "half" });
}

/**
 * The key-holding proxy for a route handler: answers `POST …/runs` and `GET …/runs/{id}` at
 * whatever path it is mounted, and nothing else. See docs/SERVER.md#in-your-app.
 */
export function createRunbaseProxy(options) {
  const settings = settingsOf(options);
  // One gateway per key value (a function may give another; at build time there may be none).
  const gateways = new Map();
  const gatewayFor = (key) => {
    let gateway = gateways.get(key);
    if (!gateway) {
      const store = openStore({ upstream: settings.upstream, apiKey: key, redis: settings.redis, spend: settings.spend });
      if (gateways.size > 8) gateways.clear();
      gateways.set(key, (gateway = new Gateway(settings, store, key)));
    }
    return gateway;
  };
  const handle = async (request, context) => {
    try {
      let key;
      try {
        key = typeof settings.apiKey === "function" ? await settings.apiKey() : settings.apiKey;
      } catch (error) {
        console.error("runbase-image/server: the apiKey function threw", error);
      }
      key = typeof key === "string" ? key.trim() : "";
      const answer = await gatewayFor(key).handle(request, addressOf(request, context, settings));
      return toResponse(answer);
    } catch (error) {
      console.error("runbase-image/server: the request failed", error);
      const { status, body } = JSON.parse(refusal("internal_error", "The proxy failed while handling the request", 0));
      return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
    }
  };
  const fetchHandler = (request, context) => handle(request, context);
  return {
    fetch: fetchHandler,
    GET: fetchHandler,
    POST: fetchHandler,
    OPTIONS: fetchHandler,
    async node(req, res) {
      let response;
      try {
        const request = await fromNode(req);
        response = await handle(request, { remoteAddr: { hostname: req.socket?.remoteAddress } });
      } catch (error) {
        console.error("runbase-image/server: the request failed", error);
        response = new Response(null, { status: 500 });
      }
      const headers = {};
      response.headers.forEach((value, name) => (headers[name] = value));
      res.writeHead(response.status, headers);
      res.end(Buffer.from(await response.arrayBuffer()));
      // A body refused unread is read and dropped: clients often cannot read an answer sent
      // while their body is still going out.
      if (!req.readableEnded) req.resume();
    },
  };
}
