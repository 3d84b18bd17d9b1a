//! The wasm-bindgen layer: the JS boundary (hardened reading of the caller's values;
//! serde-wasm-bindgen for what goes out), the client, and its transport.

pub mod boundary;
mod client;
mod transport;
