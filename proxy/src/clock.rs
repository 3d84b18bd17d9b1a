//! Wall-clock time, for what other instances, the API and the browser read (run ids, `createdAt`,
//! Redis' shared windows, `Retry-After` dates). Durations inside one process use `Instant`.

/// Milliseconds since 1970 (0 on a clock set before it).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
