// app/api/runbase/[...path]/route.js: Next.js, Node or edge runtime. The page calls it with
// new RunbaseClient({ baseUrl: "/api/runbase" }); the key stays here.
import { createRunbaseProxy } from "runbase-image/server";

export const { GET, POST, OPTIONS } = createRunbaseProxy({
  apiKey: process.env.RUNBASE_API_KEY,
  upstream: process.env.RUNBASE_BASE_URL, // the API's base; unset: https://api.runbase.net/v1
});
