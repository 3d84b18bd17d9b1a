// express.mjs: Express (node:http alike): the key-holding proxy at /api/runbase
import express from "express";
import { createRunbaseProxy } from "runbase-image/server";

const proxy = createRunbaseProxy({ apiKey: process.env.RUNBASE_API_KEY, upstream: process.env.RUNBASE_BASE_URL });

const app = express();
app.use("/api/runbase", proxy.node); // the page: new RunbaseClient({ baseUrl: "/api/runbase" })

const port = Number(process.env.PORT ?? 3000);
app.listen(port, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${port}`));
