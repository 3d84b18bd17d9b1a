//! The request budget of a key, which the API counts as one wherever the key is used: every
//! client of one key, API base and window in this module instance (a page, a worker, a
//! process) shares one, and with the entry's `js/share.js` the tabs and workers of an origin
//! share it too (Web Locks). Through a proxy (no key here) each client has its own.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use crate::core::policy::{Budget, Settings};

#[wasm_bindgen]
extern "C" {
    /// `js/share.js`'s `keyShares`: a key's share, where the runtime can share it.
    pub type KeyShares;
    #[wasm_bindgen(method)]
    fn of(this: &KeyShares, name: &str, places: usize, hold_ms: f64) -> Option<KeyShare>;

    /// `js/share.js`'s share of a key's budget with the origin's other tabs and workers.
    pub type KeyShare;
    /// Resolves once this tab holds a place in the key's window for one request.
    #[wasm_bindgen(method)]
    pub fn take(this: &KeyShare, signal: &AbortSignal) -> Promise;
    /// Nobody anywhere sends before `until` (after a 429).
    #[wasm_bindgen(method)]
    fn pause(this: &KeyShare, until: f64);
}

/// The budget here, and the share of it across the origin where there is one. `Inner::call`
/// waits on both before each request (inline there: an async fn of its own here cost 0.2 KB
/// gzip, measured).
pub(super) struct KeyBudget {
    pub(super) here: RefCell<Budget>,
    pub(super) across: Option<KeyShare>,
}

impl KeyBudget {
    /// After a 429: the key's window is full for everyone, not just the run that saw it.
    pub(super) fn pause_until(&self, until: f64) {
        self.here.borrow_mut().pause_until(until);
        if let Some(across) = &self.across {
            across.pause(until);
        }
    }
}

thread_local! {
    /// The budgets of the keys used here, by name: kept for the life of the module (one small
    /// entry per key), only in its memory.
    static BUDGETS: RefCell<Vec<(String, Rc<KeyBudget>)>> = const { RefCell::new(Vec::new()) };
}

/// The budget of a client: with a key (`"{base}\n{key}"`), the one every client of that key,
/// API base and window shares here, shared across the origin through `shares` where the
/// runtime can; through a proxy (no key), its own.
pub(super) fn key_budget(
    key: Option<String>,
    settings: &Settings,
    shares: Option<&KeyShares>,
) -> Rc<KeyBudget> {
    let fresh = |across| {
        Rc::new(KeyBudget {
            here: RefCell::new(Budget::new(settings)),
            across,
        })
    };
    let Some(key) = key else {
        return fresh(None);
    };
    // The window in whole milliseconds: formatting a float would link float printing (6.3 KB
    // gzip, measured).
    let name = format!(
        "{key}\n{}\n{}",
        settings.budget_requests, settings.budget_window_ms as u64
    );
    BUDGETS.with(|budgets| {
        let Ok(mut budgets) = budgets.try_borrow_mut() else {
            return fresh(None);
        };
        if let Some((_, budget)) = budgets.iter().find(|(known, _)| *known == name) {
            return budget.clone();
        }
        let across = shares.and_then(|shares| {
            shares.of(&name, settings.budget_requests, settings.budget_span_ms())
        });
        let budget = fresh(across);
        budgets.push((name, budget.clone()));
        budget
    })
}
