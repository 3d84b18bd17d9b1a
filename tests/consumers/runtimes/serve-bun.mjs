// serve-bun.mjs: Bun.serve: the key-holding proxy at /api/runbase
import { createRunbaseProxy } from "runbase-image/server";

const proxy = createRunbaseProxy({ apiKey: process.env.RUNBASE_API_KEY, upstream: process.env.RUNBASE_BASE_URL });

const server = Bun.serve({
  port: Number(process.env.PORT ?? 3000),
  hostname: "127.0.0.1",
  routes: { "/api/runbase/*": (request, server) => proxy.fetch(request, server) }, // the page: new RunbaseClient({ baseUrl: "/api/runbase" })
  fetch: () => new Response("Not found", { status: 404 }),
});
console.log(`listening on ${server.url}`);
