// worker.js: Cloudflare Workers (the key is a secret: wrangler secret put RUNBASE_API_KEY)
import { RunbaseClient } from "runbase-image";
import { makeImage } from "./image.js";

let client; // made at the first request: a Worker's settings (env) come with it

export default {
  async fetch(request, env) {
    client ??= new RunbaseClient({ apiKey: env.RUNBASE_API_KEY, baseUrl: env.RUNBASE_BASE_URL });
    return Response.json(await makeImage(client, await request.json()));
  },
};
