// The gpt-image-2 rules the alternative validators implement (as runbase-image does).
export const RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
export const RESOLUTIONS = ["1K", "2K", "4K"];
export const FOUR_K_RATIOS = ["16:9", "9:16", "21:9"];
export const MAX_BYTES = 4 * 1024 * 1024;

/** http(s) with a host, or data:image/* whose decoded size is within the limit. */
export function referenceProblem(url) {
  if (url.startsWith("data:")) {
    const comma = url.indexOf(",");
    if (comma < 0 || !/^data:image\/[^;,]+/i.test(url)) return "not an image data URL";
    const payload = url.length - comma - 1;
    const pad = url.endsWith("==") ? 2 : url.endsWith("=") ? 1 : 0;
    return Math.floor(payload * 3 / 4) - pad > MAX_BYTES ? "larger than 4 MB" : null;
  }
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? null : "scheme not allowed";
  } catch {
    return "not a URL";
  }
}
