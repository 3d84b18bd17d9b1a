import Replicate from "replicate";
const replicate = new Replicate({ auth: "r8_key" });
export const generate = (input) => replicate.run("openai/gpt-image-2", { input });
