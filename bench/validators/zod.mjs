import { z } from "zod";
import { RATIOS, RESOLUTIONS, FOUR_K_RATIOS, referenceProblem } from "./rules.mjs";

const schema = z.strictObject({
  prompt: z.string().min(1).max(4000),
  aspect_ratio: z.enum(RATIOS).default("1:1"),
  resolution: z.enum(RESOLUTIONS).default("1K"),
  image_urls: z.array(z.string().refine((u) => referenceProblem(u) === null, "invalid reference")).max(4).optional(),
}).refine((v) => v.resolution !== "4K" || FOUR_K_RATIOS.includes(v.aspect_ratio), {
  path: ["resolution"], message: "4K needs 16:9, 9:16 or 21:9",
});

export const validate = (input) => schema.safeParse(input);
