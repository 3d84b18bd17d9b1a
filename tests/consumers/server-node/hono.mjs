// hono.mjs: Hono on Node (@hono/node-server): the key-holding proxy at /api/runbase
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import { createRunbaseProxy } from "runbase-image/server";

const proxy = createRunbaseProxy({ apiKey: process.env.RUNBASE_API_KEY, upstream: process.env.RUNBASE_BASE_URL });

const app = new Hono();
app.all("/api/runbase/*", (c) => proxy.fetch(c.req.raw, c.env)); // the page: new RunbaseClient({ baseUrl: "/api/runbase" })

const port = Number(process.env.PORT ?? 3000);
serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => console.log(`listening on http://127.0.0.1:${port}`));
