//! The one way the server takes a `std::sync::Mutex`.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex even after a panic in another holder: every state guarded here is whole
/// between statements, and the server must keep serving.
pub fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
