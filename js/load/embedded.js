// Node code built by webpack (the "webpack" condition inside "node": Next.js's server build
// with --webpack). Its output tracing copies no .wasm from node_modules, so an app deployed
// from its build (`output: "standalone"`, a serverless function) has no file to read: the
// bytes are in this file instead (base64, decoded at import). No browser ever loads it.
import bytes from "#wasm-bytes";

export default { atImport: () => bytes };
