//! The Redis scripts are the shared form of rules the core states once: `take.lua` counts the
//! key's window and `calls.lua` each caller's as `core::window::SlidingWindow` does, and `pause.lua` waits after a 429 as
//! `core::policy::rate_limit_backoff_ms` does. Here both run on a real redis-server against the
//! same virtual clock (the scripts' `now` read from a key instead of Redis's clock).

mod common;

use common::Redis;
use redis::Script;
use runbase_image::core::policy::{rate_limit_backoff_ms, Settings};
use runbase_image::core::window::SlidingWindow;

const TAKE: &str = include_str!("../../src/core/gateway/lua/take.lua");
const PAUSE: &str = include_str!("../../src/core/gateway/lua/pause.lua");
const CALLS: &str = include_str!("../../src/core/gateway/lua/calls.lua");
/// In the server every script starts with `now` from Redis's `TIME`; here, from a key.
const VIRTUAL_NOW: &str = "local now = tonumber(redis.call('GET', 'test:now'))\n";

/// A connection, once the new server takes one (it may refuse for a moment after it listens).
fn connect(redis: &Redis) -> redis::Connection {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match redis::Client::open(redis.url.as_str()).and_then(|c| c.get_connection()) {
            Ok(conn) => return conn,
            Err(e) if std::time::Instant::now() > until => panic!("redis: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

/// The virtual clock's time, in ms.
fn set_now(conn: &mut redis::Connection, now: f64) {
    let _: () = redis::cmd("SET")
        .arg("test:now")
        .arg(now as u64)
        .query(conn)
        .unwrap();
}

fn script(body: &str) -> Script {
    Script::new(&format!("{VIRTUAL_NOW}{body}"))
}

#[test]
fn the_shared_window_grants_as_the_core_window_does() {
    let redis = Redis::start();
    let mut conn = connect(&redis);
    let take = script(TAKE);
    let (limit, window_ms) = (5usize, 1000.0);
    let mut core = SlidingWindow::new(limit, window_ms);
    // Bursts, a steady trickle, and times exactly when a slot frees.
    let mut times: Vec<f64> = Vec::new();
    times.extend([
        0.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 999.0, 1000.0, 1000.0, 1010.0,
    ]);
    times.extend((0..60).map(|i| 1500.0 + 70.0 * i as f64));
    times.extend([6000.0; 8]);
    let (mut granted, mut refused) = (0, 0);
    for (i, now) in times.iter().enumerate() {
        set_now(&mut conn, *now);
        // A slot granted now counts until now + window, as an event in the core's window.
        let (ok, wait): (i64, i64) = take
            .key("slots")
            .key("pause")
            .key("queue")
            .key("instances")
            .arg(limit)
            .arg(window_ms as u64)
            .arg(format!("member:{i}"))
            .arg("")
            .arg(5000)
            .arg("create")
            .invoke(&mut conn)
            .unwrap();
        let expected = core.try_record(*now);
        assert_eq!(ok == 1, expected.is_ok(), "at {now} ms (request {i})");
        match expected {
            Ok(()) => granted += 1,
            // The script asks to look again within 250 ms, never later than the core's wait.
            Err(core_wait) => {
                refused += 1;
                assert!(
                    wait >= 1 && wait as f64 <= core_wait.max(1.0),
                    "{wait} vs {core_wait}"
                );
            }
        }
    }
    assert!(
        granted > 20 && refused > 10,
        "{granted} granted, {refused} refused"
    );
}

#[test]
fn the_shared_pause_is_the_clients_back_off() {
    let redis = Redis::start();
    let mut conn = connect(&redis);
    let pause = script(PAUSE);
    let settings = Settings::default();
    for strike in 1..=8u32 {
        let ms: u64 = pause
            .key("pause")
            .key("strikes")
            .arg(0)
            .invoke(&mut conn)
            .unwrap();
        let client = rate_limit_backoff_ms(&settings, strike - 1, 0.0) as u64;
        assert_eq!(ms, client, "after {strike} 429s in a row");
    }
    // A Retry-After is kept as given.
    let ms: u64 = pause
        .key("pause")
        .key("strikes")
        .arg(2500)
        .invoke(&mut conn)
        .unwrap();
    assert_eq!(ms, 2500);
}

#[test]
fn a_caller_s_shared_window_counts_as_the_core_window_does() {
    let redis = Redis::start();
    let mut conn = connect(&redis);
    let calls = script(CALLS);
    let (limit, window_ms) = (3usize, 1000.0);
    let mut core = SlidingWindow::new(limit, window_ms);
    let mut times = vec![
        0.0, 0.0, 5.0, 6.0, 999.0, 1000.0, 1000.0, 1004.0, 1005.0, 1006.0,
    ];
    times.extend((0..40).map(|i| 1500.0 + 130.0 * i as f64));
    let (mut counted, mut refused) = (0, 0);
    for (i, now) in times.iter().enumerate() {
        set_now(&mut conn, *now);
        let wait: u64 = calls
            .key("calls:requests:10.0.0.1")
            .arg(limit)
            .arg(window_ms as u64)
            .arg(format!("m{i}"))
            .invoke(&mut conn)
            .unwrap();
        match core.try_record(*now) {
            Ok(()) => {
                assert_eq!(wait, 0, "request {i} at {now} ms: the core counts it");
                counted += 1;
            }
            Err(core_wait) => {
                assert_eq!(
                    wait, core_wait as u64,
                    "request {i} at {now} ms: the same wait"
                );
                refused += 1;
            }
        }
    }
    assert!(
        counted > 10 && refused > 3,
        "{counted} counted, {refused} refused"
    );
}
