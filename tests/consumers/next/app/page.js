// app/page.js: a server component (the key stays on the server)
import { RunbaseClient } from "runbase-image";
import { makeImage } from "../image.js";

const client = new RunbaseClient({ apiKey: process.env.RUNBASE_API_KEY, baseUrl: process.env.RUNBASE_BASE_URL });

export const dynamic = "force-dynamic"; // an image per request, not one at build time

export default async function Page() {
  const wrong = await makeImage(client, { prompt: "A ceramic lamp", resolution: "4K" });
  const made = await makeImage(client, { prompt: "A ceramic lamp", aspect_ratio: "16:9", resolution: "4K" });
  return <output>{JSON.stringify({ wrong, made })}</output>;
}
