// A CommonJS project (no "type": "module") on TypeScript's node16: the imports compile to
// require() of the package's CommonJS entries, typed by their .d.cts declarations.
import init, { validateInput, RunbaseClient, type ValidationResult } from "runbase-image";
import { validateInput as validateOnly } from "runbase-image/validate";

async function main(): Promise<void> {
  await init();
  const checked: ValidationResult = validateInput({ prompt: "A lamp", resolution: "4K" });
  const alone: ValidationResult = validateOnly({ prompt: "A lamp", resolution: "4K" });
  const client = new RunbaseClient({ apiKey: "sk-sim-typescript-cjs" });
  console.log(JSON.stringify([checked.ok, alone.ok, checked.issues[0]?.code, typeof client.generate]));
}
void main();
