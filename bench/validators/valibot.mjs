import * as v from "valibot";
import { RATIOS, RESOLUTIONS, FOUR_K_RATIOS, referenceProblem } from "./rules.mjs";

const schema = v.pipe(
  v.strictObject({
    prompt: v.pipe(v.string(), v.minLength(1), v.maxLength(4000)),
    aspect_ratio: v.optional(v.picklist(RATIOS), "1:1"),
    resolution: v.optional(v.picklist(RESOLUTIONS), "1K"),
    image_urls: v.optional(v.pipe(v.array(v.pipe(v.string(), v.check((u) => referenceProblem(u) === null))), v.maxLength(4))),
  }),
  v.check((x) => x.resolution !== "4K" || FOUR_K_RATIOS.includes(x.aspect_ratio), "4K needs 16:9, 9:16 or 21:9"),
);

export const validate = (input) => v.safeParse(schema, input, { abortEarly: false });
