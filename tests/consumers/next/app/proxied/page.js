// app/proxied/page.js: a client component through the route handler above (no key in the browser)
"use client";
import { useEffect, useState } from "react";
import { RunbaseClient } from "runbase-image";
import { makeImage } from "../../image.js";

const client = new RunbaseClient({ baseUrl: "/api/runbase" });

export default function Page() {
  const [result, setResult] = useState();
  useEffect(() => {
    (async () => {
      const wrong = await makeImage(client, { prompt: "A ceramic lamp", resolution: "4K" });
      const made = await makeImage(client, { prompt: "A ceramic lamp", aspect_ratio: "16:9", resolution: "4K" });
      setResult({ wrong, made });
    })();
  }, []);
  return <output>{result && JSON.stringify(result)}</output>;
}
