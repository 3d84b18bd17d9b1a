import init, { validateInput } from "runbase-image";

/** Checks the input offline (a wrong one costs nothing), then makes the image. */
export async function makeImage(client, input) {
  await init(); // once, for validateInput: browsers fetch the .wasm; elsewhere it is loaded at import
  const checked = validateInput(input);
  if (!checked.ok) return { problems: checked.issues.map((issue) => issue.message) };
  const { urls, costUsd } = await client.generate(checked.value);
  return { urls, costUsd };
}
