//! The wasm-bindgen layer: the JS boundary (hardened reading of the caller's values;
//! serde-wasm-bindgen for what goes out), the client, and its transport.

pub mod boundary;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "client")]
mod transport;

// talc instead of the default dlmalloc: several KB smaller in the shipped module.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
