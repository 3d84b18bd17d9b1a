// Cloudflare Workers (the "workerd" condition): code may not compile WebAssembly from bytes,
// so the .wasm is a module import (wrangler and workerd compile it), instantiated at import.
import wasm from "#wasm-file";

export default { atImport: () => wasm };
