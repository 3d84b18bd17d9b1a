// fitReferenceImage: an image file made to fit the model's size limit, re-encoded on a canvas
// where the runtime has one (browsers, workers). The client fits a valid input's files with
// it before sending them.
import { referenceIssues, getModelFacts as wasmGetModelFacts } from "#wasm";
import init, { isInitialized, canFit } from "./init.js";
import { isBlob } from "./blob.js";
import { RunbaseError, invalid } from "./errors.js";

const aborted = (signal) => new RunbaseError("Aborted by the caller", { kind: "aborted", cause: signal.reason });

/**
 * Makes an image file fit the model's size limit (or `maxBytes`): the same Blob back when it
 * already fits; otherwise re-encoded at its own size as WebP (JPEG where the browser cannot
 * encode WebP) at quality 0.92, then 0.85, then scaled down just enough. Needs
 * createImageBitmap and a canvas (browsers, workers); elsewhere only files that already fit
 * pass. Rejects with a RunbaseError of kind "validation" (or "aborted").
 */
export async function fitReferenceImage(blob, { maxBytes, signal } = {}) {
  if (!isInitialized()) await init(); // asynchronous: it loads the module itself, as the client does
  if (!isBlob(blob)) throw invalid("fitReferenceImage takes a File or Blob", "invalid_argument");
  // The core's rules for a file (image/* type, not empty, fittable here when too large).
  const issue = referenceIssues(blob).find((issue) => issue.severity == "error");
  if (issue) throw invalid(issue.message, issue.code, [issue]);
  const max = maxBytes ?? wasmGetModelFacts().maxImageBytes;
  if (!(max > 0)) throw invalid("maxBytes must be a number of bytes above 0", "invalid_options");
  const { size, type } = blob;
  const info = { blob, bytes: size, type, originalBytes: size, changed: false, scale: 1 };
  const tooLarge = () => invalid(`This image could not be made ${max} bytes or less here: resize or compress it first`, "image_url_too_large");
  if (!canFit()) {
    if (size <= max) return info;
    throw tooLarge(); // only with a maxBytes under the model's limit: the core refused the rest
  }
  if (signal?.aborted) throw aborted(signal);
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (cause) {
    throw invalid(`This ${type} file could not be decoded (damaged, or a format this browser cannot read): attach a PNG, JPEG or WebP image`, "image_not_decodable", undefined, cause);
  }
  try {
    const { width, height } = bitmap;
    Object.assign(info, { width, height, originalWidth: width, originalHeight: height });
    if (size <= max) return info;
    let out = "image/webp";
    const encode = async (scale, quality) => {
      if (signal?.aborted) throw aborted(signal);
      const w = Math.max(1, Math.round(width * scale));
      const h = Math.max(1, Math.round(height * scale));
      const canvas = typeof OffscreenCanvas == "function"
        ? new OffscreenCanvas(w, h)
        : Object.assign(document.createElement("canvas"), { width: w, height: h });
      const context = canvas.getContext("2d");
      if (out == "image/jpeg") { // no transparency in JPEG: on white rather than black
        context.fillStyle = "#fff";
        context.fillRect(0, 0, w, h);
      }
      context.drawImage(bitmap, 0, 0, w, h);
      const result = await (canvas.convertToBlob
        ? canvas.convertToBlob({ type: out, quality })
        : new Promise((resolve) => canvas.toBlob(resolve, out, quality)));
      if (result?.type != out && out != "image/jpeg") { // no WebP encoder (older Safari)
        out = "image/jpeg";
        return encode(scale, quality);
      }
      if (!result) throw invalid("The browser could not encode the image", "image_not_decodable");
      Object.assign(info, { blob: result, bytes: result.size, type: result.type, width: w, height: h, quality, scale, changed: true });
      return result.size <= max;
    };
    if (await encode(1, 0.92) || await encode(1, 0.85)) return info;
    // Bytes follow the pixel count: scale both sides by about √(max / bytes), then step down.
    for (let scale = Math.sqrt(max / info.bytes), i = 0; i < 12; i++, scale *= 0.9) {
      if (await encode(scale, 0.85)) return info;
    }
    throw tooLarge();
  } finally {
    bitmap.close();
  }
}
