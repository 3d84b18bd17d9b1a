//! `/metrics` in the OpenMetrics text format, with `prometheus-client`: counters where a
//! number only grows (counted where it happens), gauges for what is there now (read from the
//! stats when scraped), a histogram for the finish-to-user lag.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

use crate::stats::{Mode, Stats};

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
    /// The stats of the latest scrape, which `FromStats` reads.
    stats: Arc<Mutex<Option<Stats>>>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("runbase");
        let stats = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(FromStats {
            stats: stats.clone(),
        }));
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
            stats: stats.clone(),
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

    /// The text for a scrape, with what the stats say now.
    pub fn render(&self, stats: Stats) -> String {
        let queue = stats.broker.as_ref().map(|broker| &broker.queue);
        for (class, depth) in [
            ("creates", queue.map(|q| q.creates)),
            ("polls", queue.map(|q| q.polls)),
        ] {
            self.queue_depth
                .get_or_create(&QueueLabel { class })
                .set(depth.unwrap_or(0) as i64);
        }
        *crate::lock::locked(&self.stats) = Some(stats);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

/// A number of the stats, `None` where this mode keeps none (no broker, no Redis).
type Read = fn(&Stats) -> Option<f64>;

/// Numbers the server keeps for `/__runbase/stats`, exported with their kind: (name, help,
/// kind, the field, divided by).
#[rustfmt::skip]
const FROM_STATS: [(&str, &str, Kind, Read, f64); 14] = [
    ("runs_followed", "Runs not finished that this instance polls", Kind::Gauge, |s| Some(s.broker.as_ref()?.runs.followed as f64), 1.0),
    ("runs_known", "Runs in the run table", Kind::Gauge, |s| Some(s.broker.as_ref()?.runs.known as f64), 1.0),
    ("runs_taken_over", "Runs taken over from an instance that stopped polling them", Kind::Counter, |s| Some(s.broker.as_ref()?.runs.taken_over as f64), 1.0),
    ("runs_unknown_fetched", "Run ids this instance did not know, looked up upstream", Kind::Counter, |s| Some(s.broker.as_ref()?.runs.unknown_fetched as f64), 1.0),
    ("upstream_requests_in_window", "Upstream requests counted in the key's current window", Kind::Gauge, |s| Some(s.upstream.window.as_ref()?.requests_in_window as f64), 1.0),
    ("upstream_in_flight", "Upstream requests sent and not answered yet", Kind::Gauge, |s| Some(s.upstream.window.as_ref()?.in_flight as f64), 1.0),
    ("upstream_pauses", "Pauses of every upstream request after a 429", Kind::Counter, |s| Some(s.upstream.window.as_ref()?.pauses as f64), 1.0),
    ("upstream_pause_left_seconds", "How long the current pause still lasts", Kind::Gauge, |s| Some(s.upstream.window.as_ref()?.paused_ms as f64), 1000.0),
    ("connections_open", "Open client connections", Kind::Gauge, |s| Some(s.connections.open as f64), 1.0),
    ("connections_clients", "Client addresses with a connection open", Kind::Gauge, |s| Some(s.connections.clients as f64), 1.0),
    ("connections_shed", "Idle connections closed to make room at a cap", Kind::Counter, |s| Some(s.connections.shed as f64), 1.0),
    ("connections_refused", "Connections refused at a cap", Kind::Counter, |s| Some(s.connections.refused as f64), 1.0),
    ("body_bytes_in_flight", "Request-body bytes held in memory", Kind::Gauge, |s| Some(s.bodies.bytes_in_flight as f64), 1.0),
    ("shared_instances_alive", "Instances sharing the key through Redis, seen alive", Kind::Gauge, |s| Some(s.broker.as_ref()?.shared.as_ref()?.instances_alive as f64), 1.0),
];

#[derive(Debug)]
struct FromStats {
    stats: Arc<Mutex<Option<Stats>>>,
}

impl Collector for FromStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = crate::lock::locked(&self.stats);
        let Some(stats) = stats.as_ref() else {
            return Ok(());
        };
        for (name, help, kind, read, divisor) in FROM_STATS {
            // A number this mode does not keep (no broker, no Redis) is left out.
            let Some(value) = read(stats) else {
                continue;
            };
            match kind {
                Kind::Counter => {
                    let counter = ConstCounter::new(value as u64);
                    let kind = counter.metric_type();
                    counter.encode(encoder.encode_descriptor(name, help, None, kind)?)?;
                }
                // Counts stay whole numbers; a duration in seconds has its fraction.
                Kind::Gauge if divisor == 1.0 => {
                    let gauge = ConstGauge::new(value as i64);
                    let kind = gauge.metric_type();
                    gauge.encode(encoder.encode_descriptor(name, help, None, kind)?)?;
                }
                Kind::Gauge => {
                    let gauge = ConstGauge::new(value / divisor);
                    let kind = gauge.metric_type();
                    gauge.encode(encoder.encode_descriptor(name, help, None, kind)?)?;
                }
            }
        }
        let broker = ConstGauge::new(i64::from(stats.mode == Mode::Broker));
        let kind = broker.metric_type();
        let help = "1 with the run broker, 0 with --pass-through";
        broker.encode(encoder.encode_descriptor("broker", help, None, kind)?)
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
    use crate::stats::{
        BodyStats, BrokerStats, ConnectionStats, QueueStats, UpstreamStats, WindowStats,
    };

    #[test]
    fn counters_gauges_and_the_histogram_are_typed() {
        let metrics = Metrics::new();
        metrics
            .upstream_requests
            .get_or_create(&StatusLabel { status: 429 })
            .inc();
        metrics.created(Some(70_000));
        metrics.finish_lag.observe(0.3);
        let stats = Stats {
            mode: Mode::Broker,
            upstream: UpstreamStats {
                window: Some(WindowStats {
                    paused_ms: 1500,
                    ..Default::default()
                }),
                ..Default::default()
            },
            broker: Some(BrokerStats {
                queue: QueueStats {
                    creates: 3,
                    ..Default::default()
                },
                ..Default::default()
            }),
            connections: ConnectionStats {
                shed: 2,
                ..Default::default()
            },
            bodies: BodyStats::default(),
        };
        let text = metrics.render(stats);
        for line in [
            "# TYPE runbase_upstream_requests counter",
            "runbase_upstream_requests_total{status=\"429\"} 1",
            "runbase_runs_created_total 1",
            "runbase_spend_micro_usd_total 70000",
            "# TYPE runbase_queue_depth gauge",
            "runbase_queue_depth{class=\"creates\"} 3",
            "# TYPE runbase_finish_lag_seconds histogram",
            "runbase_finish_lag_seconds_count 1",
            "# TYPE runbase_connections_shed counter",
            "runbase_connections_shed_total 2",
            "runbase_upstream_pause_left_seconds 1.5",
            "runbase_broker 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
