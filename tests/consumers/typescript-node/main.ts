// A Node-only TypeScript project: no DOM lib, skipLibCheck off, strict. The package's .d.ts
// files must compile here with 0 errors, and its API must be usable with Node's own types.
import init, { initSync, validateInput, getModelFacts, RunbaseClient, RunbaseError, type ModelFacts, type RunbaseErrorCode } from "runbase-image";
import { readFile } from "node:fs/promises";

export async function main(): Promise<string[]> {
  await init();
  await init(await readFile(new URL("./runbase_image_bg.wasm", import.meta.url)));
  initSync(new Uint8Array(8));
  const facts: ModelFacts = getModelFacts();
  const checked = validateInput({ prompt: "A lamp", image_urls: [new Blob([new Uint8Array(4)], { type: "image/png" })] });
  void facts; void checked;
  const client = new RunbaseClient({ apiKey: process.env.RUNBASE_API_KEY ?? "sk-x" });
  try {
    const { urls } = await client.generate({ prompt: "A lamp" }, { signal: AbortSignal.timeout(60_000) });
    return urls;
  } catch (e) {
    if (e instanceof RunbaseError) {
      const code: RunbaseErrorCode | undefined = e.code;
      const cause: unknown = e.cause;
      void code; void cause;
    }
    throw e;
  }
}
