//! The client's policy driven by a virtual clock: many runs at once against a simulated
//! server that enforces 20 requests per 10 s, with network delays, and the retry table.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BinaryHeap;

use runbase_image::core::code::ErrorCode;
use runbase_image::core::policy::{
    backoff_ms, decide, is_retryable, poll_delay_ms, Budget, Decision, Method, RequestFailure,
    Settings,
};

/// A tiny deterministic random source for jitter and delays.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(PartialEq)]
struct Event {
    at: f64,
    run: usize,
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first in a max-heap.
        other.at.total_cmp(&self.at).then(other.run.cmp(&self.run))
    }
}

struct Outcome {
    arrivals: Vec<f64>,
    rate_limited: usize,
    /// Per run: (requests, delay between its end and the client knowing).
    runs: Vec<(usize, f64)>,
}

/// Runs `durations.len()` runs at once on one client, as the wasm transport does: wait for
/// the budget, send, then follow the policy. The server counts arrivals 20 per 10 s.
fn simulate(durations: &[f64], max_latency_ms: f64, settings: Settings) -> Outcome {
    let mut rng = Lcg(42);
    let mut budget = Budget::new(&settings);
    let mut queue = BinaryHeap::new();
    let mut created_at: Vec<Option<f64>> = vec![None; durations.len()];
    let mut requests = vec![0usize; durations.len()];
    let mut done: Vec<Option<f64>> = vec![None; durations.len()];
    let mut failures = vec![0u32; durations.len()];
    let mut arrivals: Vec<f64> = Vec::new();
    let mut rate_limited = 0;
    for run in 0..durations.len() {
        queue.push(Event { at: 0.0, run });
    }
    while let Some(Event { at: now, run }) = queue.pop() {
        assert!(now < 3_600_000.0, "the simulation ran away");
        let wait = budget.wait_ms(now);
        if wait > 0.0 {
            queue.push(Event {
                at: now + wait,
                run,
            });
            continue;
        }
        budget.record(now);
        requests[run] += 1;
        let arrival = now + rng.next() * max_latency_ms;
        let in_window = arrivals
            .iter()
            .filter(|t| arrival - **t < 10_000.0 && **t <= arrival)
            .count();
        let method = if created_at[run].is_some() {
            Method::Get
        } else {
            Method::Post
        };
        if in_window >= 20 {
            rate_limited += 1;
            failures[run] += 1;
            let failure = RequestFailure::Http {
                status: 429,
                code: Some(ErrorCode::RateLimited.to_string()),
                retry_after_ms: Some(1000),
            };
            match decide(&settings, method, &failure, failures[run], rng.next()) {
                Decision::RetryAfter(ms) => queue.push(Event { at: now + ms, run }),
                Decision::GiveUp => panic!("gave up on a rate-limited request"),
            }
            continue;
        }
        arrivals.push(arrival);
        failures[run] = 0;
        match created_at[run] {
            None => {
                created_at[run] = Some(arrival);
                queue.push(Event {
                    at: now + poll_delay_ms(&settings, 0.0),
                    run,
                });
            }
            Some(created) => {
                if arrival - created >= durations[run] {
                    done[run] = Some(arrival - created - durations[run]);
                } else {
                    queue.push(Event {
                        at: now + poll_delay_ms(&settings, now - created),
                        run,
                    });
                }
            }
        }
    }
    arrivals.sort_by(f64::total_cmp);
    Outcome {
        arrivals,
        rate_limited,
        runs: requests
            .into_iter()
            .zip(done.into_iter().map(|d| d.expect("every run finished")))
            .collect(),
    }
}

fn most_in_any_window(arrivals: &[f64], window: f64) -> usize {
    let mut most = 0;
    let mut start = 0;
    for end in 0..arrivals.len() {
        while arrivals[end] - arrivals[start] >= window {
            start += 1;
        }
        most = most.max(end + 1 - start);
    }
    most
}

#[test]
fn ten_runs_at_once_never_exceed_the_budget() {
    let durations: Vec<f64> = (0..10).map(|i| 8_000.0 + 3_000.0 * i as f64).collect();
    for latency in [0.0, 50.0, 400.0] {
        let outcome = simulate(&durations, latency, Settings::default());
        assert_eq!(
            outcome.rate_limited, 0,
            "no 429 with latency up to {latency} ms"
        );
        let most = most_in_any_window(&outcome.arrivals, 10_000.0);
        assert!(
            most <= 20,
            "{most} requests arrived within 10 s (latency {latency})"
        );
        for (run, (_, delay)) in outcome.runs.iter().enumerate() {
            assert!(
                *delay < 30_000.0,
                "run {run} waited {delay} ms past its end: starved"
            );
        }
    }
}

#[test]
fn fifty_runs_share_a_smaller_budget() {
    let settings = Settings {
        budget_requests: 5,
        budget_window_ms: 2_000.0,
        ..Settings::default()
    };
    let durations = vec![4_000.0; 50];
    let outcome = simulate(&durations, 0.0, settings);
    assert!(most_in_any_window(&outcome.arrivals, 2_000.0) <= 5);
    assert_eq!(outcome.runs.len(), 50);
}

#[test]
fn one_run_is_found_quickly_with_few_requests() {
    for duration in [10_000.0, 30_000.0, 60_000.0] {
        let outcome = simulate(&[duration], 0.0, Settings::default());
        let (requests, delay) = outcome.runs[0];
        // A 500 ms poller makes duration / 500 polls after its create.
        let naive = (duration / 500.0) as usize + 1;
        assert!(
            requests * 3 <= naive,
            "{duration}: {requests} requests vs {naive}"
        );
        assert!(
            delay <= 2_000.0,
            "{duration}: found {delay} ms after the end"
        );
    }
}

#[test]
fn retry_after_is_honoured_exactly_and_pauses_every_run() {
    let settings = Settings::default();
    let failure = RequestFailure::Http {
        status: 429,
        code: Some(ErrorCode::RateLimited.to_string()),
        retry_after_ms: Some(3_000),
    };
    for random in [0.0, 0.5, 1.0] {
        assert_eq!(
            decide(&settings, Method::Get, &failure, 1, random),
            Decision::RetryAfter(3_000.0)
        );
        assert_eq!(
            decide(&settings, Method::Post, &failure, 1, random),
            Decision::RetryAfter(3_000.0)
        );
    }
    let mut budget = Budget::new(&settings);
    budget.pause_until(1_000.0 + 3_000.0);
    assert_eq!(budget.wait_ms(1_000.0), 3_000.0);
    assert_eq!(budget.wait_ms(3_999.0), 1.0);
    assert_eq!(budget.wait_ms(4_000.0), 0.0);
}

#[test]
fn retries_only_where_safe() {
    let s = Settings::default();
    let http = |status: u16, code: Option<&str>| RequestFailure::Http {
        status,
        code: code.map(str::to_string),
        retry_after_ms: None,
    };
    let table: Vec<(Method, RequestFailure, bool)> = vec![
        (Method::Get, http(429, Some("RATE_LIMITED")), true),
        (Method::Post, http(429, Some("RATE_LIMITED")), true),
        (Method::Get, http(429, None), true),
        (Method::Get, http(429, Some("USAGE_EXCEEDED")), false),
        (Method::Post, http(429, Some("USAGE_EXCEEDED")), false),
        (Method::Get, http(500, None), true),
        (Method::Get, http(502, None), true),
        (Method::Get, http(503, None), true),
        (Method::Post, http(500, None), false),
        (Method::Post, http(502, None), false),
        (Method::Get, RequestFailure::Network, true),
        (Method::Post, RequestFailure::Network, false),
        (Method::Get, RequestFailure::Timeout, true),
        (Method::Post, RequestFailure::Timeout, false),
        (Method::Get, RequestFailure::Decode, true),
        (Method::Post, RequestFailure::Decode, false),
        (Method::Get, http(400, Some("invalid_input")), false),
        (Method::Get, http(401, Some("invalid_api_key")), false),
        (Method::Get, http(402, Some("insufficient_balance")), false),
        (Method::Get, http(403, Some("ip_not_allowed")), false),
        (Method::Get, http(404, Some("run_not_found")), false),
        (Method::Post, http(400, Some("invalid_json")), false),
    ];
    for (method, failure, retry) in table {
        assert_eq!(
            is_retryable(method, &failure),
            retry,
            "{method:?} {failure:?}"
        );
        let decision = decide(&s, method, &failure, 1, 0.5);
        assert_eq!(
            matches!(decision, Decision::RetryAfter(_)),
            retry,
            "{method:?} {failure:?}"
        );
    }
    let flaky = http(500, None);
    assert!(matches!(
        decide(&s, Method::Get, &flaky, s.max_retries, 0.5),
        Decision::RetryAfter(_)
    ));
    assert_eq!(
        decide(&s, Method::Get, &flaky, s.max_retries + 1, 0.5),
        Decision::GiveUp
    );
}

#[test]
fn backoff_is_exponential_jittered_and_capped() {
    let s = Settings::default();
    let mut previous_max = 0.0;
    for retry in 1..=8 {
        let low = match decide(
            &s,
            Method::Get,
            &RequestFailure::Network,
            retry.min(s.max_retries),
            0.0,
        ) {
            Decision::RetryAfter(ms) => ms,
            Decision::GiveUp => unreachable!(),
        };
        let high = backoff_ms(&s, retry.min(s.max_retries) - 1, 1.0);
        assert!(low >= high / 2.0 && low <= high);
        assert!(high >= previous_max, "grows");
        assert!(high <= s.backoff_max_ms, "capped");
        previous_max = high;
    }
}
