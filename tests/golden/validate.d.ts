// runbase-image/validate: the validator alone. The full entry (index.d.ts) is this and the client.
import type {
  ModelId, AspectRatio, Resolution, GptImage2Input, NormalizedInput, IssueCode, Severity,
  ValidationIssue, ValidationResult, ValidateOptions, ModelFacts, RunbaseErrorKind,
  RunbaseErrorFields, FittedImage, FitOptions, RunbaseErrorCode, WasmBytes, WasmModule, Locale,
} from "./runbase_validate.js";

export type {
  ModelId, AspectRatio, Resolution, GptImage2Input, NormalizedInput, IssueCode, Severity,
  ValidationIssue, ValidationResult, ValidateOptions, ModelFacts, RunbaseErrorKind,
  RunbaseErrorFields, FittedImage, FitOptions, RunbaseErrorCode, WasmBytes, WasmModule, Locale,
};

// The declarations compile without the DOM lib (a Node-only project with @types/node): the
// fetch types are the project's own where it has them (DOM or @types/node), none where not.
type FetchRequest = typeof globalThis extends { Request: abstract new (...args: any) => infer R } ? R : never;
type FetchResponse = typeof globalThis extends { Response: abstract new (...args: any) => infer R } ? R : never;

/** What `init` can load the WebAssembly module from. */
export type InitSource =
  | string | URL | FetchRequest | FetchResponse | WasmBytes | WasmModule
  | Promise<string | URL | FetchRequest | FetchResponse | WasmBytes | WasmModule>;

/**
 * Loads the WebAssembly module once; later calls return the same promise. Node, Deno, Bun,
 * Workers and edge runtimes load it at import (this resolves at once); a browser fetches the
 * .wasm next to the package's code. Needed there before the synchronous functions; the
 * client's calls load it themselves. Rejects with a RunbaseError of kind "load" (code
 * "wasm_not_found") when the .wasm is not where it looked (the message names where), cannot
 * be fetched, or is not this build's module: pass its URL, bytes or a compiled module.
 */
export default function init(source?: InitSource): Promise<void>;
/** The default export under a name (`const { init } = require("runbase-image")`). */
export { init };
/** Synchronous initialisation from bytes or a compiled module; throws a RunbaseError of kind
 *  "load" when they are not this build's module. */
export function initSync(module: WasmBytes | WasmModule): void;

/** Checks a run's input offline: every problem at once; never throws for bad input. */
export function validateInput(input: unknown, options?: ValidateOptions): ValidationResult;
/**
 * Loads a locale's messages (its own file, fetched only now): afterwards `validateInput(input,
 * { locale })` and a client with `locale` say every issue in that language. Resolves true once
 * loaded; false for a locale this package does not ship ("zh-CN" it does) or whose file could
 * not be had, whose messages stay English. Never rejects.
 */
export function loadLocale(locale: Locale): Promise<boolean>;
/** The model's rules for building a form: the default model's without an argument. */
export function getModelFacts(model?: ModelId): ModelFacts;
/** Any other id: undefined for a model this library does not know. */
export function getModelFacts(model: string): ModelFacts | undefined;
/** A prompt's length as the validator counts it (UTF-16 code units, like String.length). */
export function promptLength(text: string): number;
/**
 * What a run with this input will cost, in micro-dollars (50000 is $0.05): the price of its
 * resolution ("1K" when none is given); undefined for a resolution the model does not have.
 */
export function estimateCost(input: Partial<GptImage2Input>): number | undefined;
/**
 * Makes an image file fit the model's size limit (or maxBytes): the same Blob back when it
 * already fits; otherwise re-encoded (WebP, or JPEG where the browser has no WebP encoder) at
 * quality 0.92, then 0.85, then scaled down just enough. Browsers and workers only for files
 * over the limit (Node cannot re-encode). Rejects with a RunbaseError of kind "validation"
 * (codes "image_url_not_image", "image_url_invalid", "image_not_decodable",
 * "image_url_too_large", "invalid_argument", "invalid_options") or "aborted".
 */
export function fitReferenceImage(blob: Blob, options?: FitOptions): Promise<FittedImage>;

/** Every error this library throws or rejects with: its members are RunbaseErrorFields'. */
export class RunbaseError extends Error {
  constructor(message: string, fields?: Partial<RunbaseErrorFields>);
  readonly name: "RunbaseError";
}
export interface RunbaseError extends RunbaseErrorFields {}
