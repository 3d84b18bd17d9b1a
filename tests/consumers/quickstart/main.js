// main.js: a page (Vite, webpack, Rollup, or <script type="module"> with no bundler)
import { RunbaseClient } from "runbase-image";
import { makeImage } from "./image.js";

const client = new RunbaseClient({ baseUrl: "/api/v1" }); // your proxy: runbase-server holds the key

const wrong = await makeImage(client, { prompt: "A ceramic lamp", resolution: "4K" });
const made = await makeImage(client, { prompt: "A ceramic lamp", aspect_ratio: "16:9", resolution: "4K" });
document.querySelector("output").textContent = JSON.stringify({ wrong, made });
