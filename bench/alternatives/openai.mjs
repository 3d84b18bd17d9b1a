import OpenAI from "openai";
const client = new OpenAI({ apiKey: "sk-key", dangerouslyAllowBrowser: true });
export const generate = (prompt) => client.images.generate({ model: "gpt-image-1", prompt });
