//! The Runbase image API's `openai/gpt-image-2` model for the browser.
//!
//! - [`core`]: plain Rust with no web dependencies: the model as data, validation, the API's
//!   objects as serde types, the client's poll / retry / budget policy, the error type. The
//!   proxy and the native tests use only this.
//! - `wasm` (wasm32 only): the thin wasm-bindgen layer: the JS boundary, the client, and its
//!   transport on gloo-net over web-sys.

// A panic in wasm kills the module for the whole page: library code may not panic.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use self::core::model::{find_model, ModelSpec, GPT_IMAGE_2, MODELS};
pub use self::core::validate::{
    prompt_length, validate, validate_for_model, ImageRef, Issue, IssueCode, NormalizedInput,
    Severity, Validation,
};
pub use self::core::value::{FileInfo, Value};

/// The TypeScript declarations of the JS API that wasm-bindgen cannot derive itself: made by
/// `src/typescript.rs` from the Rust types and `src/wasm/handwritten.d.ts`.
pub const TYPESCRIPT_DECLARATIONS: &str = include_str!("wasm/types.d.ts");

#[cfg(all(test, not(target_arch = "wasm32")))]
mod typescript;
