// The package's full entry: everything of js/validate.js and the client. Bundled by
// scripts/bundle.mjs for each runtime (js/load/ says how each gets the .wasm).
import { RunbaseClient as WasmRunbaseClient } from "#wasm";
import init, { isInitialized } from "./init.js";
import { validateInput, getModelFacts } from "./validate.js";
import { fitReferenceImage } from "./fit-reference-image.js";
import { isBlob } from "./blob.js";
import { invalid } from "./errors.js";
// "#share": the key's budget across the tabs of a site in browsers (share.js), none elsewhere.
import { keyShares } from "#share";
import { inLocale } from "./locale.js";

export * from "./validate.js";
export { default } from "./validate.js";

/** A Blob as a data: URL, with its own media type. */
async function dataUrl(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return `data:${blob.type};base64,${btoa(binary)}`;
}

/**
 * The input and options the wasm client gets: every File / Blob of a valid input read (and
 * fitted) into a data: URL. An invalid input goes as it is, to be refused with every issue
 * (a file that cannot be fitted here among them), before any request.
 */
async function withFiles(input, options, model) {
  let onFitted, files = false;
  try {
    if (options && typeof options == "object" && "onReferenceFitted" in options) {
      ({ onReferenceFitted: onFitted, ...options } = options);
    }
    files = Array.isArray(input?.image_urls) && input.image_urls.some(isBlob);
  } catch {
    // unreadable: the wasm reader reports it
  }
  if (onFitted !== undefined && typeof onFitted != "function") {
    throw invalid("call options.onReferenceFitted must be a function", "invalid_options");
  }
  if (!files) return [input, options];
  const checked = validateInput(input, { model });
  if (!checked.ok) return [input, options];
  const { value } = checked;
  const maxBytes = getModelFacts(model).maxImageBytes;
  for (const [i, file] of value.image_urls.entries()) {
    if (!isBlob(file)) continue;
    const fitted = await fitReferenceImage(file, { maxBytes, signal: options?.signal });
    value.image_urls[i] = await dataUrl(fitted.blob);
    try {
      onFitted?.(fitted, i);
    } catch {
      // a throwing callback must not stop the run
    }
  }
  return [value, options];
}

/** A client for the Runbase API (directly with apiKey, or through a proxy with baseUrl). */
export class RunbaseClient {
  #inner;
  #options;
  #model;
  #locale;
  /** Made anywhere, at module level too: with the module loaded the options are checked
   *  here (a bad one throws); before, the first call loads it and checks them. */
  constructor(options) {
    this.#options = options;
    if (isInitialized()) this.#inner = new WasmRunbaseClient(options, keyShares);
    try {
      // read once, as the wasm client reads the rest
      ({ model: this.#model, locale: this.#locale } = options ?? {});
    } catch {
      // unreadable options: the wasm client says so, here or at the first call
    }
  }
  /** The wasm client, made once the module is loaded (every call of this client shares it,
   *  and with it one request budget). */
  async #client() {
    if (!this.#inner) {
      await init();
      this.#inner ??= new WasmRunbaseClient(this.#options, keyShares);
    }
    return this.#inner;
  }
  /** A refused input's issues in the client's locale. */
  #said(call) {
    return call.catch((error) => {
      inLocale(error?.issues, this.#locale);
      throw error;
    });
  }
  /** Files in image_urls are sent as data: URLs, fitted first when too large. */
  async createRun(input, options) {
    const client = await this.#client();
    return this.#said(client.createRun(...await withFiles(input, options, this.#model)));
  }
  async getRun(runId, options) { return (await this.#client()).getRun(runId, options); }
  async waitForRun(runId, options) { return (await this.#client()).waitForRun(runId, options); }
  async generate(input, options) {
    const client = await this.#client();
    return this.#said(client.generate(...await withFiles(input, options, this.#model)));
  }
}
