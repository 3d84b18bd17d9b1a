// proxy-worker.js: Cloudflare Workers: the key-holding proxy (wrangler secret put RUNBASE_API_KEY)
import { createRunbaseProxy } from "runbase-image/server";

let proxy; // made at the first request: a Worker's settings (env) come with it

export default {
  fetch(request, env) {
    proxy ??= createRunbaseProxy({ apiKey: env.RUNBASE_API_KEY, upstream: env.RUNBASE_BASE_URL });
    return proxy.fetch(request);
  },
};
