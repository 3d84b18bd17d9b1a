// runbase-image/server in a browser bundle (the "browser" and "default" conditions): it holds
// the API key, so it is never meant to reach a page. Importing it there fails at once, saying
// so (the package marks this file as having side effects, so no bundler drops the throw).
const message =
  "runbase-image/server holds your Runbase API key and runs only on a server (a route handler, " +
  "a Worker, Node, Deno or Bun): import it from server code, and in the page use " +
  'new RunbaseClient({ baseUrl: "/api/runbase" }) from "runbase-image"';

export function createRunbaseProxy() {
  throw new Error(message);
}

throw new Error(message);
