// serve-deno.mjs: Deno.serve: the key-holding proxy at /api/runbase (deno run --allow-env --allow-net --allow-read)
import { createRunbaseProxy } from "runbase-image/server";

const proxy = createRunbaseProxy({ apiKey: Deno.env.get("RUNBASE_API_KEY"), upstream: Deno.env.get("RUNBASE_BASE_URL") });

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), hostname: "127.0.0.1" }, (request, info) => {
  if (new URL(request.url).pathname.startsWith("/api/runbase/")) return proxy.fetch(request, info); // the page: new RunbaseClient({ baseUrl: "/api/runbase" })
  return new Response("Not found", { status: 404 });
});
