/* tslint:disable */
/* eslint-disable */
// Made by src/typescript.rs from the Rust types and src/wasm/handwritten.d.ts: do not edit.

/** Models this library knows. */
export type ModelId = "openai/gpt-image-2";

/** gpt-image-2's aspect ratios (width:height). */
export type AspectRatio = "1:1" | "2:3" | "3:2" | "3:4" | "4:3" | "4:5" | "5:4" | "9:16" | "16:9" | "21:9";

/** gpt-image-2's resolutions; "4K" only with "16:9", "9:16" or "21:9". */
export type Resolution = "1K" | "2K" | "4K";

/** Stable machine-readable reasons for a validation issue. */
export type IssueCode = "input_not_object" | "unknown_field" | "prompt_missing" | "prompt_not_string" | "prompt_empty" | "prompt_too_long" | "prompt_blank" | "aspect_ratio_not_string" | "aspect_ratio_unsupported" | "resolution_not_string" | "resolution_unsupported" | "resolution_not_allowed_for_aspect_ratio" | "image_urls_not_array" | "image_urls_too_many" | "image_url_not_string" | "image_url_invalid" | "image_url_unsupported_scheme" | "image_url_not_image" | "image_url_too_large" | "image_url_duplicate" | "image_url_insecure" | "image_file_will_be_fitted" | "too_many_issues" | "model_not_supported";

/** Statuses the API documents; any other string means "not finished yet". */
export type RunStatus = "pending" | "processing" | "succeeded" | "failed" | (string & {});

/** The codes a RunbaseError may carry: the API's documented ones, the library's own, and
 * runbase-server's; any other string is a code the server added later. */
export type RunbaseErrorCode = "invalid_json" | "missing_model" | "missing_input" | "invalid_input" | "model_not_found" | "missing_api_key" | "invalid_api_key" | "insufficient_balance" | "api_key_spend_limit_exceeded" | "ip_not_allowed" | "run_not_found" | "RATE_LIMITED" | "USAGE_EXCEEDED" | "invalid_options" | "access_token_unavailable" | "not_initialized" | "wasm_not_found" | "invalid_argument" | "image_url_not_image" | "image_url_invalid" | "image_url_too_large" | "image_not_decodable" | "auth_required" | "auth_invalid" | "auth_expired" | "auth_unavailable" | "origin_not_allowed" | "host_not_allowed" | "model_not_allowed" | "payload_too_large" | "incomplete_body" | "request_timeout" | "server_busy" | "spend_limit_reached" | "SHARED_STATE_UNAVAILABLE" | "upstream_timeout" | "upstream_unreachable" | "upstream_invalid_response" | "not_found" | "method_not_allowed" | "internal_error" | "api_key_missing" | (string & {});

export type Severity = "error" | "warning";

export interface ValidationIssue {
    /**
     * Where, relative to the input: "prompt", "image_urls[2]"; "" for the input itself.
     */
    path: string;
    code: IssueCode;
    /**
     * A sentence for a person: what was given and what is allowed.
     */
    message: string;
    severity: Severity;
    /**
     * A value that would fix it, when one is clear ("16:9" for "16x9").
     */
    suggestion?: string;
    /**
     * The values the field accepts, for enum, scheme and field-name problems.
     */
    allowed?: string[];
}

/**
 * The input ready to send: defaults filled in; `image_urls` left out when empty (an empty
 * list means the same as none).
 */
export interface NormalizedInput {
    prompt: string;
    aspect_ratio: AspectRatio;
    resolution: Resolution;
    /**
     * The caller's own File / Blob objects stay in place (they are sent as data: URLs).
     */
    image_urls?: (string | Blob)[];
}

/**
 * What a form needs to offer only valid choices.
 */
export interface ModelFacts {
    id: ModelId;
    /**
     * The input's fields, in the order the API documents them.
     */
    inputFields: ["prompt", "aspect_ratio", "resolution", "image_urls"];
    promptMinLength: number;
    promptMaxLength: number;
    /**
     * How prompt length is counted: "utf16" (String.length).
     */
    promptLengthUnit: "utf16";
    aspectRatios: AspectRatio[];
    defaultAspectRatio: AspectRatio;
    resolutions: Resolution[];
    defaultResolution: Resolution;
    /**
     * For each aspect ratio, the resolutions it allows.
     */
    resolutionsByAspectRatio: Record<AspectRatio, Resolution[]>;
    /**
     * For each restricted resolution, the only aspect ratios it allows.
     */
    aspectRatiosByResolution: Partial<Record<Resolution, AspectRatio[]>>;
    maxImageUrls: number;
    /**
     * Decoded bytes per reference image (4 × 1024 × 1024).
     */
    maxImageBytes: number;
    imageUrlSchemes: ("https" | "http" | "data")[];
    /**
     * The price of one run in micro-dollars (1 USD = 1,000,000), by resolution.
     */
    pricesUsd: Record<Resolution, number>;
    /**
     * The image's long side in pixels, by resolution (1K 1024, 2K 2048, 4K 3840; the short
     * side follows the aspect ratio, rounded down). Runbase does not document pixel sizes.
     */
    longSidePx: Record<Resolution, number>;
}

/**
 * What went wrong, stable for code to switch on.
 */
export type RunbaseErrorKind = "validation" | "api" | "network" | "timeout" | "aborted" | "run_failed" | "decode" | "auth" | "load";

/**
 * The fields every error of this library carries (see the RunbaseError class). In Rust,
 * the error every call of the client reports; serialized as these fields (the message is
 * the JS constructor's own argument).
 */
export interface RunbaseErrorFields {
    kind: RunbaseErrorKind;
    /**
     * HTTP status, when an answer arrived.
     */
    status?: number;
    /**
     * The API's error code ("RATE_LIMITED", "invalid_api_key", …), the library's
     * ("invalid_input", "invalid_options", …) or the proxy's.
     */
    code?: RunbaseErrorCode;
    /**
     * Whether the same call may succeed if made again (never for a POST that may have
     * created a run).
     */
    retryable: boolean;
    retryAfterMs?: number;
    /**
     * Set whenever a run exists: resume with client.waitForRun(runId).
     */
    runId?: string;
    /**
     * For kind "validation" with code "invalid_input": every problem of the input.
     */
    issues?: ValidationIssue[];
}

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



/**
 * A Runbase client: with `apiKey` it calls the API directly; with only `baseUrl` it calls
 * your proxy, which holds the key. All runs of one client, and every client of the same key
 * and API base here, share one request budget.
 */
export class RunbaseClient {
    free(): void;
    /**
     * Validates the input (no request when it is invalid), then creates a run.
     */
    createRun(input: GptImage2Input, options: CallOptions): Promise<Run>;
    /**
     * Validates, creates and waits: resolves with `{ urls, run, costUsd }`.
     */
    generate(input: GptImage2Input, options: CallOptions): Promise<GenerateResult>;
    /**
     * Reads a run once.
     */
    getRun(run_id: string, options: CallOptions): Promise<Run>;
    /**
     * `shares`: the entry's `keyShares` (js/share.js), to share a key's budget across tabs.
     */
    constructor(options: RunbaseClientOptions, shares?: any | null);
    /**
     * Follows a run until it finishes; resolves with the succeeded run.
     */
    waitForRun(run_id: string, options: CallOptions): Promise<Run>;
}

/**
 * Called once by the package's entry module with its `RunbaseError` class and its
 * `makeIssue` (see `issues_to_js`); told whether this environment can fit images (see
 * `CAN_FIT_IMAGES`) and whether it is Node. The validator-only module has no client, so
 * it keeps only what validation uses.
 */
export function __configure(_class: Function, make_issue: Function, can_fit_images: boolean, in_node: boolean): void;

/**
 * The issues of one gpt-image-2 field's value on its own, or `undefined` for a field whose
 * issues are not its own alone; js/fast-path.js keeps them per value (see
 * `validate::field_issues`).
 */
export function fieldIssues(field: string, value: unknown): ValidationIssue[] | undefined;

/**
 * The model's rules for building a form; `undefined` for a model this library does not know.
 */
export function getModelFacts(model: ModelId): ModelFacts | undefined;

/**
 * A prompt's length as the validator counts it (UTF-16 code units, like String.length).
 */
export function promptLength(text: string): number;

/**
 * The issues of one reference (URL string or File/Blob) on its own, errors and warnings, each
 * at path "" (see `validate::reference_issues`): none for a clean one, which js/fast-path.js
 * keeps per string and per file; fitReferenceImage refuses a file with the first error.
 */
export function referenceIssues(entry: unknown): ValidationIssue[];

/**
 * Checks a run's `input` offline. Never throws: every problem is in the result.
 */
export function validateInput(input: unknown, options: ValidateOptions | undefined): ValidationResult;

export type InitInput = string | URL | WasmBytes | WasmModule;

export interface InitOutput {
  // (the module's exports)
}

export type SyncInitInput = WasmBytes | WasmModule;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
