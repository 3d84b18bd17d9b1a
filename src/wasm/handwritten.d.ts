// The part of the declarations that is not derived from Rust types (src/typescript.rs adds
// this file to the derived part to make types.d.ts): what the JS entries read or add
// themselves (the input before validation, options with functions, files), the run object
// with the members the API may add later, and the runtime stand-ins.

/** The `input` of a gpt-image-2 run, as the API documents it. */
export interface GptImage2Input {
  /** 1 to 4000 characters, counted as UTF-16 code units (String.length). */
  prompt: string;
  /** Default "1:1". */
  aspect_ratio?: AspectRatio;
  /** Default "1K". */
  resolution?: Resolution;
  /**
   * Up to 4 reference images: https, http or data:image/* URLs, each at most 4 MiB, or image
   * files (File / Blob): sent as data: URLs, a file over 4 MiB fitted first where the
   * environment can re-encode images (browsers; not Node). See fitReferenceImage.
   */
  image_urls?: (string | Blob)[];
}

export type ValidationResult =
  | { ok: true; value: NormalizedInput; issues: []; warnings: ValidationIssue[] }
  | { ok: false; value?: undefined; issues: ValidationIssue[]; warnings: ValidationIssue[] };

export interface ValidateOptions {
  /** Default "openai/gpt-image-2". */
  model?: ModelId;
  /** The language of the issues' messages, once `loadLocale` has loaded it; English otherwise. */
  locale?: Locale;
}

/** A language the validator's messages come in besides English (the default). */
export type Locale = "zh-CN" | (string & {});

/** Settings of a RunbaseClient: give `apiKey` (direct) or `baseUrl` (a proxy holding the key). */
export interface RunbaseClientOptions {
  /** Sent as `Authorization: Bearer <apiKey>` (Runbase keys look like "sk-…"; another shape gets a console warning). Anything in the page can read it: prefer a proxy. */
  apiKey?: string;
  /** Default "https://api.runbase.net/v1" with apiKey; required without it (your proxy's base, e.g. "/api/v1"). */
  baseUrl?: string;
  /**
   * For a proxy with sign-in: the signed-in user's access token (your sign-in's JWT), sent as
   * `Authorization: Bearer`. A string, or a function that returns one (or a promise of one):
   * asked when the client has no token, and once more when the proxy answers 401
   * auth_expired (then the request is made again). Not with apiKey.
   */
  accessToken?: string | (() => string | Promise<string>);
  /** Extra request headers (not Authorization together with apiKey or accessToken). */
  headers?: Record<string, string>;
  /** Default "openai/gpt-image-2". */
  model?: ModelId;
  /** Overall time-out of a call, waiting included. Default 600000 (10 min); 0 for none. */
  timeoutMs?: number;
  /** Time-out of one HTTP request. Default 30000. */
  requestTimeoutMs?: number;
  /** Steady poll interval. Default 2000 (the first polls come sooner, long runs slow down). */
  pollIntervalMs?: number;
  /** The slowest poll interval for long runs. Default 5000. */
  maxPollIntervalMs?: number;
  /** Retries of one request after a safe-to-retry failure. Default 5. */
  maxRetries?: number;
  /** The request budget all runs of this client share. Default 20 per 10000 ms (the API's limit). */
  rateLimit?: { requests?: number; windowMs?: number };
  /** The language of a refused input's issues, once `loadLocale` has loaded it; English otherwise. */
  locale?: Locale;
}

/** Options of one call. */
export interface CallOptions {
  /** Stops the request in flight and any pending wait; rejects with kind "aborted". */
  signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
  /** Called with the run object on every status change (waitForRun, generate). */
  onUpdate?: (run: Run) => void;
  /** Called once the run exists (generate): keep `run.id` to resume after a reload. */
  onCreate?: (run: Run) => void;
  /**
   * createRun and generate: called for each File / Blob of image_urls once it is ready to
   * send, with what fitting did (`changed: false` when it is sent as it was) and its index.
   */
  onReferenceFitted?: (image: FittedImage, index: number) => void;
}

/** What fitReferenceImage made of an image file. */
export interface FittedImage {
  /** What to send: the original Blob when it already fit, else the re-encoded image. */
  blob: Blob;
  /** blob's size in bytes (at most the limit). */
  bytes: number;
  /** blob's media type ("image/webp" or "image/jpeg" when re-encoded). */
  type: string;
  /** blob's pixel size; undefined where images cannot be decoded (Node). */
  width?: number;
  height?: number;
  originalBytes: number;
  originalWidth?: number;
  originalHeight?: number;
  /** Whether the image was re-encoded. */
  changed: boolean;
  /** The encoder quality used (0.92 or 0.85), when re-encoded. */
  quality?: number;
  /** The factor both sides were scaled by (1: not scaled). */
  scale: number;
}

export interface FitOptions {
  /** Default: the model's maxImageBytes (4 × 1024 × 1024). */
  maxBytes?: number;
  /** Stops between encoding steps; rejects with kind "aborted". */
  signal?: AbortSignal;
}

/** A run object as the API documents it; members it adds later are kept as they came. */
export interface Run {
  id: string;
  model?: ModelId | (string & {});
  status: RunStatus;
  /** What the run costs, in micro-dollars (50000 is $0.05): charged at creation, refunded in full if it fails. */
  costUsd?: number;
  /** ISO 8601 times. */
  createdAt?: string;
  completedAt?: string;
  /** On "succeeded": the generated images' URLs (not permanent: download what you keep). */
  output?: { urls: string[] };
  /** On "failed": what went wrong. */
  error?: string | { message?: string; code?: string };
  [member: string]: unknown;
}

export interface GenerateResult {
  /** The generated images' URLs: not permanent, download what you keep. */
  urls: string[];
  /** What the run was charged, in micro-dollars, as the API reported it. */
  costUsd?: number;
  run: Run;
}

/** What the error came from (RunbaseErrorFields' other members are derived from Rust). */
export interface RunbaseErrorFields {
  /** What the error came from, where there is one: fetch's TypeError (in Node with the reason, such as ECONNREFUSED, in its own `cause`), the abort reason, JSON.parse's error. */
  cause?: unknown;
}

/** Bytes: an ArrayBuffer or a view of one (the DOM's BufferSource, declared here so that the
 *  declarations compile without the DOM lib, as in a Node-only project). */
export type WasmBytes = ArrayBuffer | ArrayBufferView;

/** A compiled `WebAssembly.Module` where the project's libs declare one; any object where not. */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: abstract new (...args: any) => infer M } } ? M : object;
