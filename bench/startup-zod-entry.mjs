import { validate } from "./validators/zod.mjs";
validate({ prompt: "A lamp", aspect_ratio: "16:9", resolution: "4K" });
window.firstResultAt = performance.now();
