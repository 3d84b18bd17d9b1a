// The full entry: everything of runbase-image/validate (validate.d.ts) and the client.
import type {
  GptImage2Input, RunbaseClientOptions, CallOptions, Run, GenerateResult,
} from "./runbase_image.js";

export * from "./validate.js";
export { default } from "./validate.js";
export type { RunbaseClientOptions, CallOptions, RunStatus, Run, GenerateResult } from "./runbase_image.js";

/** A client for the Runbase API. All runs of one client share one request budget. */
export class RunbaseClient {
  /**
   * Can be made anywhere, at module level too: its calls load the module themselves. Bad
   * options throw RunbaseError (kind "validation", code "invalid_options") here once the
   * module is loaded, else they reject the first call.
   */
  constructor(options: RunbaseClientOptions);
  /**
   * Validates (no request when invalid: rejects with kind "validation"), sends each File /
   * Blob of image_urls as a data: URL (fitted first when over the limit), then creates a run.
   */
  createRun(input: GptImage2Input, options?: CallOptions): Promise<Run>;
  /** Reads a run once. */
  getRun(runId: string, options?: CallOptions): Promise<Run>;
  /** Polls until the run finishes; resolves with the succeeded run, rejects otherwise. */
  waitForRun(runId: string, options?: CallOptions): Promise<Run>;
  /** Validates, sends files as createRun does, creates and waits: resolves with the image URLs, the run and its charged cost. */
  generate(input: GptImage2Input, options?: CallOptions): Promise<GenerateResult>;
}
