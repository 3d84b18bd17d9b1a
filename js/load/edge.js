// Vercel's and Next.js's edge runtime (the "edge-light" condition): as in Workers, no
// compiling from bytes; the `?module` import is how these bundlers hand over a compiled module.
import wasm from "#wasm-file?module";

export default { atImport: () => wasm };
