//! The memory the proxy gives request bodies: a global budget of bytes in flight,
//! and at most a quarter of it per caller (client address, or user with sign-in), reserved by each POST for its declared
//! length before a byte is read and kept until its create has gone upstream (a queued create
//! keeps its checked body). A body that does not fit is refused at once with 503 and
//! `Retry-After`, so a flood of large bodies cannot grow the proxy's memory past the budget
//! (each reserved byte costs about three in the worst case: the JSON tree, the library's
//! reading of it and the body sent upstream).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::auth::Caller;
use crate::http::error::ApiError;
use runbase_image::core::code::ErrorCode;

#[derive(Default)]
struct Used {
    total: usize,
    per_caller: HashMap<Caller, usize>,
}

pub struct BodyBudget {
    pub total: usize,
    used: Mutex<Used>,
}

/// Bytes reserved for one request body; given back when dropped.
pub struct Reservation {
    budget: Arc<BodyBudget>,
    caller: Caller,
    bytes: usize,
}

impl BodyBudget {
    pub fn new(total: usize) -> Arc<BodyBudget> {
        Arc::new(BodyBudget {
            total,
            used: Mutex::new(Used::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Used> {
        crate::lock::locked(&self.used)
    }

    /// Reserves `bytes` for a body from `caller`, or says why not.
    pub fn reserve(
        self: &Arc<Self>,
        caller: &Caller,
        bytes: usize,
    ) -> Result<Reservation, ApiError> {
        let mut used = self.lock();
        let mine = used.per_caller.get(caller).copied().unwrap_or(0);
        if used.total + bytes > self.total || mine + bytes > self.total / 4 {
            let whose = if mine + bytes > self.total / 4 {
                "this client's share of it"
            } else {
                "it"
            };
            return Err(ApiError::new(
                ErrorCode::ServerBusy,
                format!(
                    "The proxy's memory for request bodies ({} MB) is in use and this body \
                     ({} KB) does not fit in {whose}: retry in a moment",
                    self.total / 1_000_000,
                    bytes.div_ceil(1000)
                ),
            )
            .retry_after(2));
        }
        used.total += bytes;
        *used.per_caller.entry(caller.clone()).or_default() += bytes;
        Ok(Reservation {
            budget: self.clone(),
            caller: caller.clone(),
            bytes,
        })
    }

    pub fn in_use(&self) -> usize {
        self.lock().total
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut used = self.budget.lock();
        used.total = used.total.saturating_sub(self.bytes);
        if let Some(mine) = used.per_caller.get_mut(&self.caller) {
            *mine = mine.saturating_sub(self.bytes);
            if *mine == 0 {
                used.per_caller.remove(&self.caller);
            }
        }
    }
}
