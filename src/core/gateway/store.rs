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

/// A pause the API asked for after a 429, within reason: at least a second, at most five
/// minutes.
pub fn clamp_pause_ms(ms: u64) -> u64 {
    ms.clamp(1_000, 300_000)
}

/// What every script starts with: `now`, in milliseconds, by Redis's clock.
const NOW: &str =
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n";

/// The scripts by name, each as sent to Redis (with [`NOW`] before it).
pub fn scripts() -> Vec<(&'static str, String)> {
    SOURCES
        .iter()
        .map(|(name, body)| (*name, format!("{NOW}{body}")))
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_differ_by_key_and_scripts_know_now() {
        assert_ne!(prefix("a", "sk-1"), prefix("a", "sk-2"));
        assert_eq!(prefix("a", "sk-1").len(), "runbase::".len() + 16);
        assert!(script("take").is_some_and(|s| s.starts_with(NOW)));
        assert_eq!(script("nope"), None);
        assert_eq!(scripts().len(), SOURCES.len());
    }
}
