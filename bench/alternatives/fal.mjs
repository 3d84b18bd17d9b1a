import { fal } from "@fal-ai/client";
fal.config({ proxyUrl: "/api/fal/proxy" });
export const generate = (input) => fal.subscribe("openai/gpt-image-2", { input });
