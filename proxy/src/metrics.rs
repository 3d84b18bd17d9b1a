//! `/metrics` in the OpenMetrics text format, with `prometheus-client`: counters where a
//! number only grows (counted where it happens), gauges for what is there now (read from the
//! stats when scraped), a histogram for the finish-to-user lag.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};
use serde_json::Value;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunStatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    class: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// Every upstream request, by the HTTP status answered (429s included; 0: none came, a
    /// time-out or a failed connection).
    pub upstream_requests: Family<StatusLabel, Counter>,
    pub runs_created: Counter,
    /// Runs the broker saw finish, by their final status.
    pub runs_finished: Family<RunStatusLabel, Counter>,
    /// Creates the proxy answered with its own 429 (queue full or wait too long).
    pub creates_refused: Counter,
    /// From the API's `completedAt` to the poll that saw it, in seconds.
    pub finish_lag: Histogram,
    /// What the API charged at create for the runs created through this instance, in
    /// micro-dollars (whole numbers: a float counter would drift by its roundings); a failed
    /// run's refund is not taken back, as a counter only grows.
    pub spend_micro_usd: Counter,
    queue_depth: Family<QueueLabel, Gauge>,
    runs_followed: Gauge,
    runs_known: Gauge,
    requests_in_window: Gauge,
    connections_open: Gauge,
    body_bytes_in_flight: Gauge,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("runbase");
        let r = &mut registry;
        let metrics = Metrics {
            upstream_requests: metric(
                r,
                "upstream_requests",
                "Requests sent to the API, by the status it answered (0: no answer)",
                Family::default(),
            ),
            runs_created: metric(
                r,
                "runs_created",
                "Runs created through this instance",
                Counter::default(),
            ),
            runs_finished: metric(
                r,
                "runs_finished",
                "Runs seen finished, by final status",
                Family::default(),
            ),
            creates_refused: metric(
                r,
                "creates_refused",
                "Creates refused by the proxy's own 429 (the key busy)",
                Counter::default(),
            ),
            finish_lag: metric(
                r,
                "finish_lag_seconds",
                "From a run's completedAt to the poll that saw it",
                Histogram::new(exponential_buckets(0.05, 2.0, 12)),
            ),
            spend_micro_usd: metric(
                r,
                "spend_micro_usd",
                "Charged at create for runs created through this instance, in micro-dollars (refunds not subtracted)",
                Counter::default(),
            ),
            queue_depth: metric(
                r,
                "queue_depth",
                "Requests waiting for the key's budget, by class",
                Family::default(),
            ),
            runs_followed: metric(
                r,
                "runs_followed",
                "Runs not finished that this instance polls",
                Gauge::default(),
            ),
            runs_known: metric(r, "runs_known", "Runs in the run table", Gauge::default()),
            requests_in_window: metric(
                r,
                "upstream_requests_in_window",
                "Upstream requests counted in the key's current window",
                Gauge::default(),
            ),
            connections_open: metric(
                r,
                "connections_open",
                "Open client connections",
                Gauge::default(),
            ),
            body_bytes_in_flight: metric(
                r,
                "body_bytes_in_flight",
                "Request-body bytes held in memory",
                Gauge::default(),
            ),
            registry: Registry::default(),
        };
        Arc::new(Metrics {
            registry,
            ..metrics
        })
    }

    /// Counts a run created, and what it cost (micro-dollars).
    pub fn created(&self, cost_micro_usd: Option<u64>) {
        self.runs_created.inc();
        if let Some(cost) = cost_micro_usd {
            self.spend_micro_usd.inc_by(cost);
        }
    }

    /// The text for a scrape, with the gauges set from the stats of now.
    pub fn render(&self, stats: &Value) -> String {
        let number = |value: &Value| value.as_i64().unwrap_or(0);
        for class in ["creates", "polls"] {
            self.queue_depth
                .get_or_create(&QueueLabel { class })
                .set(number(&stats["queue"][class]));
        }
        self.runs_followed.set(number(&stats["runs"]["followed"]));
        self.runs_known.set(number(&stats["runs"]["known"]));
        self.requests_in_window
            .set(number(&stats["upstream"]["requestsInWindow"]));
        self.connections_open
            .set(number(&stats["connections"]["open"]));
        self.body_bytes_in_flight
            .set(number(&stats["bodies"]["bytesInFlight"]));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// A metric registered under its name and help, kept to count with.
fn metric<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_and_the_histogram_are_typed() {
        let metrics = Metrics::new();
        metrics
            .upstream_requests
            .get_or_create(&StatusLabel { status: 429 })
            .inc();
        metrics.created(Some(70_000));
        metrics.finish_lag.observe(0.3);
        let text = metrics.render(&serde_json::json!({"queue": {"creates": 3}}));
        for line in [
            "# TYPE runbase_upstream_requests counter",
            "runbase_upstream_requests_total{status=\"429\"} 1",
            "runbase_runs_created_total 1",
            "runbase_spend_micro_usd_total 70000",
            "# TYPE runbase_queue_depth gauge",
            "runbase_queue_depth{class=\"creates\"} 3",
            "# TYPE runbase_finish_lag_seconds histogram",
            "runbase_finish_lag_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
