//! The HTTP edge every request passes: the accept loop with its time-outs and connection caps,
//! the host names answered, the body-memory budget, errors in the API's shape, and the static
//! files.

pub mod accept;
pub mod body_budget;
pub mod cors;
pub mod error;
pub mod files;
pub mod hosts;
pub mod trace;
