//! The state proxies of one key share in Redis, as `runbase-server` and the package's server
//! entry both lay it out: every name under one prefix derived from the upstream and the key
//! (the key itself never reaches Redis), and each shared step one Lua script, prefixed with
//! `now` read from Redis's own clock (so the instances' clocks do not matter).

/// The prefix of every name of one key at one upstream: `runbase:<16 hex>:`.
pub fn prefix(upstream: &str, key: &str) -> String {
    format!("runbase:{:016x}:", fnv1a(&format!("{upstream}\n{key}")))
}

/// 64-bit FNV-1a: the same on every build and in every language, so every instance derives
/// the same prefix.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An instance not seen for this long is dead (take.lua drops its queued creates).
pub const ALIVE_MS: u64 = 5_000;

/// How long a run not finished is kept after its last change.
pub const RUN_TTL_MS: u64 = 6 * 3_600_000;

/// A pause the API asked for after a 429, within reason: at least a second, at most five
/// minutes.
pub fn clamp_pause_ms(ms: u64) -> u64 {
    ms.clamp(1_000, 300_000)
}

/// What every script starts with: `now`, in milliseconds, by Redis's clock.
const NOW: &str =
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n";

/// One script as sent to Redis; `None` for a name that is not one.
pub fn script(name: &str) -> Option<String> {
    SOURCES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, body)| format!("{NOW}{body}"))
}

const SOURCES: [(&str, &str); 13] = [
    ("take", include_str!("lua/take.lua")),
    ("release", include_str!("lua/release.lua")),
    ("record", include_str!("lua/record.lua")),
    ("heartbeat", include_str!("lua/heartbeat.lua")),
    ("pause", include_str!("lua/pause.lua")),
    ("enqueue", include_str!("lua/enqueue.lua")),
    ("dequeue", include_str!("lua/dequeue.lua")),
    ("renew", include_str!("lua/renew.lua")),
    ("drop_lease", include_str!("lua/drop_lease.lua")),
    ("orphans", include_str!("lua/orphans.lua")),
    ("calls", include_str!("lua/calls.lua")),
    ("spend", include_str!("lua/spend.lua")),
    ("put_run", include_str!("lua/put_run.lua")),
];

/// The key's window as one process keeps it when it has no store: what `take.lua`,
/// `release.lua` and `pause.lua` keep in Redis. A slot counts from its grant (for a lease long
/// enough to cover its request) until `hold` after its answer; a 429 pauses everyone (its
/// `Retry-After`, else 1, 2, 4 … 30 s). Times in ms on the caller's clock.
#[derive(Debug, Default, Clone)]
pub struct KeySlots {
    /// Each slot's id and when it stops counting.
    slots: Vec<(u64, f64)>,
    next_id: u64,
    paused_until: f64,
    strikes: u32,
}

impl KeySlots {
    /// A slot for a request now (`Ok(id)`), or how long to wait (`Err(ms)`), as `take.lua`.
    pub fn take(&mut self, limit: usize, lease_ms: f64, now: f64) -> Result<u64, f64> {
        if self.paused_until > now {
            return Err(self.paused_until - now);
        }
        self.slots.retain(|(_, until)| *until > now);
        if self.slots.len() < limit {
            self.next_id += 1;
            self.slots.push((self.next_id, now + lease_ms));
            return Ok(self.next_id);
        }
        let first = self
            .slots
            .iter()
            .map(|(_, until)| *until)
            .fold(f64::INFINITY, f64::min);
        Err((first - now).clamp(1.0, 250.0))
    }

    /// The slot's request was answered: it counts `hold_ms` more; `ok` (not a 429) clears the
    /// strikes. As `release.lua`.
    pub fn release(&mut self, id: u64, hold_ms: f64, ok: bool, now: f64) {
        if let Some(slot) = self.slots.iter_mut().find(|(slot, _)| *slot == id) {
            slot.1 = now + hold_ms;
        }
        if ok {
            self.strikes = 0;
        }
    }

    /// An upstream 429: nobody sends for its `Retry-After` (clamped), or else the back-off of
    /// the strikes so far. As `pause.lua`.
    pub fn pause(&mut self, retry_after_ms: Option<u64>, now: f64) -> f64 {
        self.strikes += 1;
        let ms = match retry_after_ms {
            Some(ms) => clamp_pause_ms(ms) as f64,
            None => crate::core::policy::rate_limit_backoff_ms(
                &crate::core::policy::Settings::default(),
                self.strikes - 1,
                0.0,
            ),
        };
        self.paused_until = self.paused_until.max(now + ms);
        ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_differ_by_key_and_scripts_know_now() {
        assert_ne!(prefix("a", "sk-1"), prefix("a", "sk-2"));
        assert_eq!(prefix("a", "sk-1").len(), "runbase::".len() + 16);
        assert!(script("take").is_some_and(|s| s.starts_with(NOW)));
        assert_eq!(script("nope"), None);
        assert!(SOURCES.iter().all(|(name, _)| script(name).is_some()));
    }

    #[test]
    fn slots_count_from_grant_to_hold_after_the_answer() {
        let mut slots = KeySlots::default();
        let a = slots.take(2, 60_000.0, 0.0).expect("first");
        let b = slots.take(2, 60_000.0, 0.0).expect("second");
        assert_eq!(slots.take(2, 60_000.0, 10.0), Err(250.0), "in flight");
        slots.release(a, 1_000.0, true, 100.0);
        assert_eq!(slots.take(2, 60_000.0, 900.0), Err(200.0));
        let c = slots.take(2, 60_000.0, 1_100.0).expect("a's slot is free");
        slots.release(b, 1_000.0, false, 1_100.0);
        slots.release(c, 1_000.0, false, 1_100.0);
        assert_eq!(slots.pause(None, 1_200.0), 1_000.0);
        assert_eq!(
            slots.pause(None, 1_200.0),
            2_000.0,
            "strikes double the pause"
        );
        assert_eq!(slots.take(2, 60_000.0, 2_200.0), Err(1_000.0), "paused");
        assert_eq!(
            slots.pause(Some(10), 2_200.0),
            1_000.0,
            "clamped to a second"
        );
    }
}
