// runbase-image/server: the key-holding proxy as a route handler (server runtimes only).

/** A node-redis (v4 or later) or ioredis client, connected. */
export type RedisClient =
  | { sendCommand(args: string[]): Promise<unknown> }
  | { call(command: string, ...args: (string | number)[]): Promise<unknown> };

export interface RunbaseProxyOptions {
  /**
   * The Runbase API key: a string, or a function asked when a request comes. Undefined is
   * allowed where the secret is not there yet (`next build`): requests are then refused with
   * 500 `api_key_missing`.
   */
  apiKey: string | undefined | (() => string | undefined | Promise<string | undefined>);
  /** The API's base. Default `https://api.runbase.net/v1`. */
  upstream?: string;
  /** Pages allowed to call from other origins (exact origins, or "*"). Default: only the request's own origin. */
  allowedOrigins?: string[];
  /**
   * Who the request is from: a user id, or null / undefined to refuse it (401 `auth_required`).
   * Without it there is no sign-in and limits are per client address.
   */
  authenticate?: (request: Request) => string | null | undefined | Promise<string | null | undefined>;
  /** The client's address where the runtime does not tell it (default: the runtime's, else `cf-connecting-ip`, `x-real-ip`, `x-forwarded-for`). */
  clientAddress?: (request: Request) => string;
  /** Shares the key's window, the runs, their owners and the limits among instances (and with runbase-server on the same Redis). */
  redis?: RedisClient;
  /** Creates per 10 s of one caller (user or client address). Default 20. */
  clientLimit?: number;
  /** Spend limits in US dollars. */
  spendPerClientHourUsd?: number;
  spendPerClientDayUsd?: number;
  spendPerDayUsd?: number;
  /** The long-poll offered to clients, in seconds (1–60). Default 25. */
  longPollSeconds?: number;
  /** How long a create may wait for the key's window, in ms. Default 30000. */
  queueWaitMs?: number;
  /** Time-out of one upstream request, in ms. Default 60000. */
  upstreamTimeoutMs?: number;
}

/** Something with `remoteAddr` (Deno.serve's info) or `requestIP` (Bun's server), or anything else. */
export type HandlerContext = unknown;

/** A node:http incoming request (Express's and Fastify's raw request are ones). */
export interface NodeRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  on(event: string, listener: (...args: any[]) => void): unknown;
}
/** A node:http server response. */
export interface NodeResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: Uint8Array): unknown;
}

export interface RunbaseProxy {
  /** Workers, Deno.serve, Bun.serve, Hono (`c.req.raw`), SvelteKit, Remix. */
  fetch(request: Request, context?: HandlerContext): Promise<Response>;
  /** Next.js route handlers (Node and edge): `export const { GET, POST, OPTIONS } = proxy`. */
  GET(request: Request, context?: HandlerContext): Promise<Response>;
  POST(request: Request, context?: HandlerContext): Promise<Response>;
  OPTIONS(request: Request, context?: HandlerContext): Promise<Response>;
  /** node:http, Express (`app.use("/api/runbase", proxy.node)`), Fastify's raw request. */
  node(req: NodeRequest, res: NodeResponse): Promise<void>;
}

/** The key-holding proxy: answers `POST …/runs` and `GET …/runs/{id}` wherever it is mounted. */
export function createRunbaseProxy(options: RunbaseProxyOptions): RunbaseProxy;
