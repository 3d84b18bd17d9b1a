// What a careful developer writes by hand: the same rules, every problem collected.
import { RATIOS, RESOLUTIONS, FOUR_K_RATIOS, referenceProblem } from "./rules.mjs";

const FIELDS = new Set(["prompt", "aspect_ratio", "resolution", "image_urls"]);

export function validate(input) {
  const issues = [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ path: "", message: "input must be an object" }] };
  }
  for (const key of Object.keys(input)) if (!FIELDS.has(key)) issues.push({ path: key, message: "unknown field" });
  const { prompt, aspect_ratio = "1:1", resolution = "1K", image_urls } = input;
  if (typeof prompt !== "string") issues.push({ path: "prompt", message: "prompt must be a string" });
  else if (prompt.length < 1 || prompt.length > 4000) issues.push({ path: "prompt", message: "prompt must be 1 to 4000 characters" });
  if (!RATIOS.includes(aspect_ratio)) issues.push({ path: "aspect_ratio", message: "unsupported aspect ratio" });
  if (!RESOLUTIONS.includes(resolution)) issues.push({ path: "resolution", message: "unsupported resolution" });
  else if (resolution === "4K" && !FOUR_K_RATIOS.includes(aspect_ratio)) issues.push({ path: "resolution", message: "4K needs 16:9, 9:16 or 21:9" });
  if (image_urls !== undefined) {
    if (!Array.isArray(image_urls)) issues.push({ path: "image_urls", message: "must be an array" });
    else {
      if (image_urls.length > 4) issues.push({ path: "image_urls", message: "at most 4" });
      image_urls.forEach((url, i) => {
        const problem = typeof url !== "string" ? "must be a string" : referenceProblem(url);
        if (problem) issues.push({ path: `image_urls[${i}]`, message: problem });
      });
    }
  }
  return issues.length ? { ok: false, issues } : { ok: true, value: { prompt, aspect_ratio, resolution, image_urls } };
}
