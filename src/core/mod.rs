//! Plain Rust with no web dependencies, shared by the wasm client, the proxy and the native
//! tests: one source of truth for the model's rules and for each API object.

pub mod api;
pub mod code;
pub mod error;
#[cfg(feature = "server")]
pub mod gateway;
pub mod messages;
pub mod model;
pub mod policy;
pub mod reference_url;
pub mod suggest;
pub mod time;
pub mod validate;
pub mod value;
pub mod window;
