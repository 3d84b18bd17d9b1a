// Rollup with node-resolve alone: it resolves the package but copies no .wasm, so init()
// fails at start with an error that names the one fix (rollup.fixed.config.mjs).
import { nodeResolve } from "@rollup/plugin-node-resolve";

export default { input: "main.js", output: { dir: "dist", format: "es" }, plugins: [nodeResolve({ browser: true })] };
