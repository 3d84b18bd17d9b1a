// main.mjs: Node, Deno or Bun (a script, a server, a test)
import { RunbaseClient } from "runbase-image";
import { makeImage } from "./image.js";

const client = new RunbaseClient({ apiKey: process.env.RUNBASE_API_KEY, baseUrl: process.env.RUNBASE_BASE_URL });

const wrong = await makeImage(client, { prompt: "A ceramic lamp", resolution: "4K" });
const made = await makeImage(client, { prompt: "A ceramic lamp", aspect_ratio: "16:9", resolution: "4K" });
console.log(JSON.stringify({ wrong, made }));
