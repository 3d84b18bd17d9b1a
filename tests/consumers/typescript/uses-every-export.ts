// Every export used correctly, and deliberately wrong uses that must not compile: each
// `@ts-expect-error` fails the check if its line compiles.
import init, {
  initSync, validateInput, getModelFacts, promptLength, estimateCost, fitReferenceImage, RunbaseClient, RunbaseError,
  loadLocale, type Locale,
  type AspectRatio, type Resolution, type GptImage2Input, type ValidationResult, type ValidationIssue,
  type IssueCode, type ModelFacts, type RunbaseClientOptions, type CallOptions, type Run,
  type GenerateResult, type RunbaseErrorKind, type NormalizedInput, type ModelId, type RunStatus,
  type FittedImage, type FitOptions, type RunbaseErrorCode,
} from "runbase-image";
import {
  init as initValidator, validateInput as validateAlone, RunbaseError as ValidatorError, loadLocale as loadLocaleAlone,
} from "runbase-image/validate";

/** RunbaseErrorCode's named codes (the union less its open `string & {}` end). */
type KnownCode = RunbaseErrorCode extends infer U ? U extends string ? string extends U ? never : U : never : never;

export async function correct(signal: AbortSignal): Promise<string[]> {
  await init();
  await init(new URL("https://cdn.example/runbase_image_bg.wasm"));
  await initValidator(new URL("https://cdn.example/runbase_validate_bg.wasm"));
  const alone: ValidationResult = validateAlone({ prompt: "A lamp" });
  const sameClass: RunbaseError = new ValidatorError("one class to TypeScript too", { kind: "validation" });
  void alone; void sameClass;
  initSync(new Uint8Array(8));
  const ratio: AspectRatio = "21:9";
  const resolution: Resolution = "4K";
  const input: GptImage2Input = { prompt: "A lamp", aspect_ratio: ratio, resolution, image_urls: ["https://a/b.png"] };
  const result: ValidationResult = validateInput(input, { model: "openai/gpt-image-2" });
  if (result.ok) {
    const value: NormalizedInput = result.value;
    const r: AspectRatio = value.aspect_ratio;
    void r;
  } else {
    const first: ValidationIssue | undefined = result.issues[0];
    const code: IssueCode | undefined = first?.code;
    void code;
  }
  validateInput(undefined);
  const locale: Locale = "zh-CN";
  const loaded: boolean = await loadLocale(locale);
  const inChinese: ValidationResult = validateInput(input, { locale });
  const anyLocale: boolean = await loadLocaleAlone("xx-YY");
  void loaded; void inChinese; void anyLocale;
  new RunbaseClient({ baseUrl: "/api/v1", locale });
  const facts: ModelFacts = getModelFacts();
  const named: ModelFacts = getModelFacts("openai/gpt-image-2");
  const anyId: string = String(signal.reason);
  const maybe: ModelFacts | undefined = getModelFacts(anyId);
  void named; void maybe;
  const allowed: Resolution[] | undefined = facts?.resolutionsByAspectRatio["16:9"];
  const id: ModelId | undefined = facts?.id;
  const price4k: number | undefined = facts?.pricesUsd["4K"];
  const estimate: number | undefined = estimateCost({ resolution: "2K" });
  void allowed; void id; void price4k; void estimate;
  const length: number = promptLength("一张");
  void length;
  const options: RunbaseClientOptions = { baseUrl: "/api/v1", timeoutMs: 60_000, rateLimit: { requests: 20, windowMs: 10_000 } };
  const client = new RunbaseClient(options);
  const call: CallOptions = { signal, onUpdate: (run: Run) => console.log(run.status), onCreate: (run) => run.id };
  const run: Run = await client.createRun(input, call);
  const read: Run = await client.getRun(run.id);
  const status: RunStatus = read.status;
  const times: (string | undefined)[] = [read.model, read.createdAt, read.completedAt, read.output?.urls[0]];
  const charged: number | undefined = read.costUsd;
  void status; void times; void charged;
  await client.waitForRun(run.id, { timeoutMs: 1000 });
  const file = new File([new Uint8Array(8)], "photo.png", { type: "image/png" });
  const fitOptions: FitOptions = { maxBytes: 4 * 1024 * 1024, signal };
  const fitted: FittedImage = await fitReferenceImage(file, fitOptions);
  const shown: [Blob, number, string, number | undefined, number | undefined, boolean, number | undefined, number] =
    [fitted.blob, fitted.bytes, fitted.type, fitted.width, fitted.originalHeight, fitted.changed, fitted.quality, fitted.scale];
  void shown;
  const withFiles: GptImage2Input = { prompt: "Like these", image_urls: [file, fitted.blob, "https://a/b.png"] };
  const checked = validateInput(withFiles);
  if (checked.ok) {
    const back: (string | Blob)[] | undefined = checked.value.image_urls;
    void back;
  }
  const onFitted: CallOptions["onReferenceFitted"] = (image: FittedImage, index: number) => console.log(index, image.bytes);
  await client.generate(withFiles, { signal, onReferenceFitted: onFitted });
  const fileCode: IssueCode = "image_file_will_be_fitted";
  void fileCode;
  const generated: GenerateResult = await client.generate({ prompt: "x" });
  const cost: number | undefined = generated.costUsd;
  void cost;
  try {
    await client.generate({ prompt: "x" });
  } catch (e) {
    if (e instanceof RunbaseError) {
      const kind: RunbaseErrorKind = e.kind;
      const resume: string | undefined = e.runId;
      const issues: ValidationIssue[] | undefined = e.issues;
      const retry: boolean = e.retryable;
      void kind; void resume; void issues; void retry; void e.status; void e.code; void e.retryAfterMs;
      const code: RunbaseErrorCode | undefined = e.code;
      const cause: unknown = e.cause;
      void code; void cause;
      if (e.code === "RATE_LIMITED" || e.code === "origin_not_allowed") void e.retryAfterMs;
    }
  }
  // The documented codes are named in the union (editors offer them), from the API, the
  // library and the proxy; a code a server adds later still type-checks.
  const documented: KnownCode[] = [
    "invalid_json", "run_not_found", "RATE_LIMITED", "USAGE_EXCEEDED", "invalid_options", "not_initialized",
    "image_not_decodable", "origin_not_allowed", "model_not_allowed", "payload_too_large", "server_busy",
    "spend_limit_reached", "SHARED_STATE_UNAVAILABLE", "upstream_timeout", "upstream_unreachable",
    "host_not_allowed", "method_not_allowed",
  ];
  const later: RunbaseErrorCode = "a_code_added_later";
  void documented; void later;
  // Every kind is in the union, "load" (a .wasm that could not be loaded) among them.
  const kinds: RunbaseErrorKind[] = ["validation", "api", "network", "timeout", "aborted", "run_failed", "decode", "auth", "load"];
  void kinds;
  return generated.urls;
}

export async function wrong(client: RunbaseClient) {
  // @ts-expect-error an aspect ratio that does not exist
  const ratio: AspectRatio = "16:10";
  // @ts-expect-error resolutions are "1K" | "2K" | "4K"
  const resolution: Resolution = "8K";
  // @ts-expect-error prompt is required
  const missing: GptImage2Input = { aspect_ratio: "1:1" };
  // @ts-expect-error image_urls is an array of strings
  const urls: GptImage2Input = { prompt: "x", image_urls: "https://a/b.png" };
  // @ts-expect-error unknown model id
  validateInput({ prompt: "x" }, { model: "openai/dall-e-3" });
  // @ts-expect-error options are one object, not a key string
  new RunbaseClient("sk-key");
  // @ts-expect-error misspelt option
  new RunbaseClient({ apikey: "x" });
  // @ts-expect-error a locale is a name, not a catalog
  await loadLocale({ "zh-CN": {} });
  // @ts-expect-error run ids are strings
  await client.getRun(42);
  // @ts-expect-error the issue code union is closed
  const code: IssueCode = "prompt_too_short";
  // @ts-expect-error error kinds are a closed union
  const kind: RunbaseErrorKind = "http";
  // @ts-expect-error signal must be an AbortSignal
  await client.generate({ prompt: "x" }, { signal: "stop" });
  // @ts-expect-error generate resolves with { urls, run, costUsd }, not an array
  const list: string[] = await client.generate({ prompt: "x" });
  // @ts-expect-error fitReferenceImage takes a Blob, not a URL
  await fitReferenceImage("https://a/b.png");
  // @ts-expect-error reference images are strings or Blobs
  const notAFile: GptImage2Input = { prompt: "x", image_urls: [new Uint8Array(4)] };
  // @ts-expect-error onReferenceFitted gets the fitted image first
  await client.generate({ prompt: "x" }, { onReferenceFitted: (index: string) => index });
  // @ts-expect-error estimateCost is undefined for a resolution the model lacks
  const price: number = estimateCost({ resolution: "2K" });
  // @ts-expect-error an id that may not be a known model: the facts may be undefined
  const facts: ModelFacts = getModelFacts(String(client));
  // @ts-expect-error "made_up_code" is not one of the named codes
  const named: KnownCode = "made_up_code";
  // @ts-expect-error codes are strings
  const numeric: RunbaseErrorCode = 42;
  void facts; void named; void numeric;
  // @ts-expect-error costUsd is a number of micro-dollars
  const dollars: string = (await client.generate({ prompt: "x" })).costUsd;
  void notAFile;
  void ratio; void resolution; void missing; void urls; void code; void kind; void list; void price; void dollars;
}

// @ts-expect-error runbase-image/validate is the validator alone: it has no client
export type NoClient = typeof import("runbase-image/validate").RunbaseClient;

// runbase-image/server: the handler in each runtime's shape, and its options checked.
import { createRunbaseProxy, type RunbaseProxy, type RunbaseProxyOptions } from "runbase-image/server";

export function proxied(redis: { sendCommand(args: string[]): Promise<unknown> }): RunbaseProxy {
  const options: RunbaseProxyOptions = {
    apiKey: () => "sk-from-a-vault",
    authenticate: async (request: Request) => request.headers.get("x-user"),
    allowedOrigins: ["https://app.example"],
    redis,
    spendPerClientDayUsd: 2,
  };
  const proxy = createRunbaseProxy(options);
  const { GET, POST, OPTIONS } = proxy;
  const answer: Promise<Response> = GET(new Request("https://app.example/api/runbase/runs/x"));
  void POST; void OPTIONS; void answer;
  // @ts-expect-error the key is required (undefined is allowed, leaving it out is not)
  createRunbaseProxy({ upstream: "https://api.runbase.net/v1" });
  // @ts-expect-error spend limits are numbers of dollars
  createRunbaseProxy({ apiKey: "k", spendPerDayUsd: "5" });
  return proxy;
}
