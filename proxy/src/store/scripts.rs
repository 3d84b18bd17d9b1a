//! The Lua scripts that make each shared step atomic, as the core writes them (the package's
//! server entry sends the same text).

use redis::Script;
use runbase_image::core::gateway::store::script;

pub(super) struct Scripts {
    pub(super) take: Script,
    pub(super) release: Script,
    pub(super) record: Script,
    pub(super) heartbeat: Script,
    pub(super) pause: Script,
    pub(super) enqueue: Script,
    pub(super) dequeue: Script,
    pub(super) renew: Script,
    pub(super) drop_lease: Script,
    pub(super) orphans: Script,
    pub(super) calls: Script,
    pub(super) put_run: Script,
}

impl Scripts {
    pub fn new() -> Scripts {
        let script = |name: &str| Script::new(&script(name).unwrap_or_default());
        Scripts {
            take: script("take"),
            release: script("release"),
            record: script("record"),
            heartbeat: script("heartbeat"),
            pause: script("pause"),
            enqueue: script("enqueue"),
            dequeue: script("dequeue"),
            renew: script("renew"),
            drop_lease: script("drop_lease"),
            orphans: script("orphans"),
            calls: script("calls"),
            put_run: script("put_run"),
        }
    }
}
