//! `/metrics` in the OpenMetrics text format, with `prometheus-client`: counters where a
//! number only grows (counted where it happens), gauges for what is there now (read from the
//! stats when scraped), a histogram for the finish-to-user lag.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
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
    /// Every upstream answer, by HTTP status (429s included).
    pub upstream_requests: Family<StatusLabel, Counter>,
    pub runs_created: Counter,
    /// Runs the broker saw finish, by their final status.
    pub runs_finished: Family<RunStatusLabel, Counter>,
    /// Creates the proxy answered with its own 429 (queue full or wait too long).
    pub creates_refused: Counter,
    /// From the API's `completedAt` to the poll that saw it, in seconds.
    pub finish_lag: Histogram,
    /// What the API charged for the runs created through this instance, in micro-dollars
    /// (whole numbers: a float counter would drift by its roundings).
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
        let metrics = Metrics {
            upstream_requests: Family::default(),
            runs_created: Counter::default(),
            runs_finished: Family::default(),
            creates_refused: Counter::default(),
            finish_lag: Histogram::new(exponential_buckets(0.05, 2.0, 12)),
            spend_micro_usd: Counter::default(),
            queue_depth: Family::default(),
            runs_followed: Gauge::default(),
            runs_known: Gauge::default(),
            requests_in_window: Gauge::default(),
            connections_open: Gauge::default(),
            body_bytes_in_flight: Gauge::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        let m = &metrics;
        r.register(
            "upstream_requests",
            "Requests sent to the API, by the status it answered",
            m.upstream_requests.clone(),
        );
        r.register(
            "runs_created",
            "Runs created through this instance",
            m.runs_created.clone(),
        );
        r.register(
            "runs_finished",
            "Runs seen finished, by final status",
            m.runs_finished.clone(),
        );
        r.register(
            "creates_refused",
            "Creates refused by the proxy's own 429 (the key busy)",
            m.creates_refused.clone(),
        );
        r.register(
            "finish_lag_seconds",
            "From a run's completedAt to the poll that saw it",
            m.finish_lag.clone(),
        );
        r.register(
            "spend_micro_usd",
            "What the API charged for runs created through this instance, in micro-dollars",
            m.spend_micro_usd.clone(),
        );
        r.register(
            "queue_depth",
            "Requests waiting for the key's budget, by class",
            m.queue_depth.clone(),
        );
        r.register(
            "runs_followed",
            "Runs not finished that this instance polls",
            m.runs_followed.clone(),
        );
        r.register("runs_known", "Runs in the run table", m.runs_known.clone());
        r.register(
            "upstream_requests_in_window",
            "Upstream requests counted in the key's current window",
            m.requests_in_window.clone(),
        );
        r.register(
            "connections_open",
            "Open client connections",
            m.connections_open.clone(),
        );
        r.register(
            "body_bytes_in_flight",
            "Request-body bytes held in memory",
            m.body_bytes_in_flight.clone(),
        );
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
