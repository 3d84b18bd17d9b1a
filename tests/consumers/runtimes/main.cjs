// main.cjs: CommonJS (Node loads the .wasm at require: no init() needed)
const { validateInput, RunbaseClient } = require("runbase-image");

const client = new RunbaseClient({ apiKey: process.env.RUNBASE_API_KEY, baseUrl: process.env.RUNBASE_BASE_URL });

async function makeImage(input) {
  const checked = validateInput(input);
  if (!checked.ok) return { problems: checked.issues.map((issue) => issue.message) };
  const { urls, costUsd } = await client.generate(checked.value);
  return { urls, costUsd };
}

(async () => {
  const wrong = await makeImage({ prompt: "A ceramic lamp", resolution: "4K" });
  const made = await makeImage({ prompt: "A ceramic lamp", aspect_ratio: "16:9", resolution: "4K" });
  console.log(JSON.stringify({ wrong, made }));
})();
