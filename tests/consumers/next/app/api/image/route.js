// app/api/image/route.js: a route handler (add `export const runtime = "edge"` for the edge)
import { RunbaseClient } from "runbase-image";
import { makeImage } from "../../../image.js";

const client = new RunbaseClient({ apiKey: process.env.RUNBASE_API_KEY, baseUrl: process.env.RUNBASE_BASE_URL });

export async function POST(request) {
  return Response.json(await makeImage(client, await request.json()));
}
