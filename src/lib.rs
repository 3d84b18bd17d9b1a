//! Runbase image API client core: the gpt-image-2 model as data and the validation of its
//! input. Plain Rust with no web dependencies; `js.rs` is the thin wasm-bindgen layer.

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

pub mod api;
pub mod error;
pub mod model;
pub mod policy;
pub mod reference_url;
pub mod suggest;
pub mod validate;
pub mod value;

#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
mod js_client;

pub use model::{find_model, ModelSpec, GPT_IMAGE_2, MODELS};
pub use validate::{
    prompt_length, validate, validate_for_model, Issue, IssueCode, NormalizedInput, Severity,
    Validation,
};
pub use value::Value;

/// The TypeScript declarations of the JS API that wasm-bindgen cannot derive itself.
pub const TYPESCRIPT_DECLARATIONS: &str = include_str!("types.d.ts");
