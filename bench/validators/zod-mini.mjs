import * as z from "zod/mini";
import { RATIOS, RESOLUTIONS, FOUR_K_RATIOS, referenceProblem } from "./rules.mjs";

const schema = z.strictObject({
  prompt: z.string().check(z.minLength(1), z.maxLength(4000)),
  aspect_ratio: z._default(z.enum(RATIOS), "1:1"),
  resolution: z._default(z.enum(RESOLUTIONS), "1K"),
  image_urls: z.optional(z.array(z.string().check(z.refine((u) => referenceProblem(u) === null))).check(z.maxLength(4))),
}).check(z.refine((v) => v.resolution !== "4K" || FOUR_K_RATIOS.includes(v.aspect_ratio)));

export const validate = (input) => z.safeParse(schema, input);
