// Bundled by esbuild for the browser speed run; the package itself is loaded from /pkg.
import init, { validateInput } from "/pkg/index.js";
import { validate as zod } from "./validators/zod.mjs";
import { validate as valibot } from "./validators/valibot.mjs";
import { validate as handwritten } from "./validators/handwritten.mjs";
import { benchInputs } from "./inputs.mjs";
import { timeAll } from "./measure.mjs";

window.runBench = async (options) => {
  await init();
  return timeAll({ "runbase-image": validateInput, zod, valibot, handwritten }, benchInputs(), options);
};
