//! The Lua scripts that make each shared step atomic. Every script reads Redis's own clock,
//! so the instances' clocks do not matter.

use redis::Script;

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
}

impl Scripts {
    pub fn new() -> Scripts {
        const NOW: &str =
            "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n";
        let script = |body: &str| Script::new(&format!("{NOW}{body}"));
        Scripts {
            take: script(include_str!("lua/take.lua")),
            release: script(include_str!("lua/release.lua")),
            record: script(include_str!("lua/record.lua")),
            heartbeat: script(include_str!("lua/heartbeat.lua")),
            pause: script(include_str!("lua/pause.lua")),
            enqueue: script(include_str!("lua/enqueue.lua")),
            dequeue: script(include_str!("lua/dequeue.lua")),
            renew: script(include_str!("lua/renew.lua")),
            drop_lease: script(include_str!("lua/drop_lease.lua")),
            orphans: script(include_str!("lua/orphans.lua")),
            calls: script(include_str!("lua/calls.lua")),
        }
    }
}
