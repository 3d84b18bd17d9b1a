//! The accept loop, in place of `axum::serve`, which has no time-outs and no limits:
//! hyper's HTTP/1 connections with a header read time-out, an idle keep-alive time-out, and a
//! cap on open connections in total and per client address. Both time-outs are kept here, not
//! by hyper: since hyper 1.6 its header read time-out also runs while a kept-alive connection
//! waits for its next request, so it would close every idle connection after the header
//! time-out, whatever the idle one says. At a cap the oldest connection
//! with no request in flight (an idle or trickling one: what a flood is made of) is closed to
//! make room, so a new client is still served; only when every connection is busy is the new
//! one refused.

use crate::stats::ConnectionStats;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::header::{HeaderName, HeaderValue};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::io::InspectReader;
use tower::ServiceExt;

/// How long a closing connection may still spend answering.
const CLOSING_GRACE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// The whole request head must arrive within this.
    pub header_read: Duration,
    /// A connection with no request for this long is closed.
    pub idle: Duration,
    pub max_connections: usize,
    pub max_per_client: usize,
}

/// One open connection, as the registry sees it.
struct Conn {
    ip: IpAddr,
    opened: Instant,
    /// Requests being answered.
    busy: Arc<AtomicUsize>,
    /// Milliseconds since `opened` of the last request's start or end.
    active_ms: Arc<AtomicU64>,
    close: Arc<Notify>,
}

/// What a connection's task shares with the registry.
struct Admitted {
    id: u64,
    busy: Arc<AtomicUsize>,
    active_ms: Arc<AtomicU64>,
    close: Arc<Notify>,
}

#[derive(Default)]
struct Registry {
    conns: HashMap<u64, Conn>,
    per_ip: HashMap<IpAddr, usize>,
    next_id: u64,
    shed: u64,
    refused: u64,
}

/// Counters for the stats.
#[derive(Clone, Default)]
pub struct Connections {
    registry: Arc<Mutex<Registry>>,
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        crate::lock::locked(&self.registry)
    }

    pub fn stats(&self) -> ConnectionStats {
        let registry = self.lock();
        ConnectionStats {
            open: registry.conns.len(),
            clients: registry.per_ip.len(),
            shed: registry.shed,
            refused: registry.refused,
        }
    }

    /// Admits a connection from `ip`, closing an idle one to make room at a cap; `None`
    /// when every connection that could make room is busy.
    fn admit(&self, ip: IpAddr, limits: &ConnectionLimits) -> Option<Admitted> {
        let mut registry = self.lock();
        let mine = registry.per_ip.get(&ip).copied().unwrap_or(0);
        let full = if mine >= limits.max_per_client {
            Some(ip)
        } else if registry.conns.len() >= limits.max_connections {
            // Room is made at the address holding the most connections.
            registry
                .per_ip
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(ip, _)| *ip)
        } else {
            None
        };
        if let Some(victim_ip) = full {
            let victim = registry
                .conns
                .iter()
                .filter(|(_, c)| c.ip == victim_ip && c.busy.load(Ordering::Relaxed) == 0)
                .min_by_key(|(_, c)| {
                    c.opened + Duration::from_millis(c.active_ms.load(Ordering::Relaxed))
                })
                .map(|(id, _)| *id);
            match victim {
                Some(id) => {
                    if let Some(conn) = registry.conns.remove(&id) {
                        conn.close.notify_one();
                        forget_ip(&mut registry, conn.ip);
                    }
                    registry.shed += 1;
                }
                None => {
                    registry.refused += 1;
                    return None;
                }
            }
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let conn = Conn {
            ip,
            opened: Instant::now(),
            busy: Arc::new(AtomicUsize::new(0)),
            active_ms: Arc::new(AtomicU64::new(0)),
            close: Arc::new(Notify::new()),
        };
        let admitted = Admitted {
            id,
            busy: conn.busy.clone(),
            active_ms: conn.active_ms.clone(),
            close: conn.close.clone(),
        };
        registry.conns.insert(id, conn);
        *registry.per_ip.entry(ip).or_default() += 1;
        Some(admitted)
    }

    fn remove(&self, id: u64) {
        let mut registry = self.lock();
        if let Some(conn) = registry.conns.remove(&id) {
            forget_ip(&mut registry, conn.ip);
        }
    }

    fn close_all(&self) {
        for conn in self.lock().conns.values() {
            conn.close.notify_one();
        }
    }

    fn open(&self) -> usize {
        self.lock().conns.len()
    }
}

fn forget_ip(registry: &mut Registry, ip: IpAddr) {
    if let Some(n) = registry.per_ip.get_mut(&ip) {
        *n -= 1;
        if *n == 0 {
            registry.per_ip.remove(&ip);
        }
    }
}

/// Serves `router` until `shutdown` resolves, then lets open requests finish (at most 10 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    connections: Connections,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    // Told to clients that honour it (Firefox, Node's fetch), so that they close an idle
    // connection first instead of racing a request against the close.
    let keep_alive = HeaderValue::from_str(&format!("timeout={}", limits.idle.as_secs())).ok();
    // Time-outs are checked this often, so that they hold to about a quarter of the shorter.
    let check_every = (limits.idle.min(limits.header_read) / 4)
        .clamp(Duration::from_millis(25), Duration::from_secs(1));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: the caps should prevent it; wait a
                // moment rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(Admitted {
            id,
            busy,
            active_ms,
            close,
        }) = connections.admit(peer.ip(), &limits)
        else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let (http, connections, keep_alive) =
            (http.clone(), connections.clone(), keep_alive.clone());
        tokio::spawn(async move {
            let opened = Instant::now();
            let since_open = move || opened.elapsed().as_millis() as u64;
            // When the head of the next request began to arrive: milliseconds since opening,
            // plus one; 0 while none is. A new connection owes its first head from the start.
            let head_from = Arc::new(AtomicU64::new(1));
            let (busy_in, active_in, head_in) =
                (busy.clone(), active_ms.clone(), head_from.clone());
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    head_in.store(0, Ordering::Relaxed);
                    let guard = Busy::new(busy_in.clone(), active_in.clone(), since_open);
                    let answer = router.clone().oneshot(request.map(axum::body::Body::new));
                    let keep_alive = keep_alive.clone();
                    async move {
                        let mut answer = answer.await;
                        drop(guard);
                        if let (Ok(answer), Some(value)) = (&mut answer, keep_alive) {
                            answer
                                .headers_mut()
                                .insert(HeaderName::from_static("keep-alive"), value);
                        }
                        answer
                    }
                });
            // A head begins with the first bytes read while no request is being answered.
            let (busy_read, head_read) = (busy.clone(), head_from.clone());
            let stream = InspectReader::new(stream, move |bytes: &[u8]| {
                if !bytes.is_empty()
                    && busy_read.load(Ordering::Relaxed) == 0
                    && head_read.load(Ordering::Relaxed) == 0
                {
                    head_read.store(since_open() + 1, Ordering::Relaxed);
                }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let mut tick = tokio::time::interval(check_every);
            // Once closing, what is still being answered gets this long (hyper has no write
            // time-out: a client that stops reading must not keep the connection forever).
            let mut closing_until: Option<Instant> = None;
            loop {
                let deadline =
                    closing_until.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = close.notified() => {
                        // Shed or shutting down: idle connections close now, a request in
                        // flight is answered first; a second notice closes it anyway.
                        if busy.load(Ordering::Relaxed) == 0 || closing_until.is_some() {
                            break;
                        }
                        closing_until = Some(Instant::now() + CLOSING_GRACE);
                        conn.as_mut().graceful_shutdown();
                    }
                    _ = tick.tick(), if closing_until.is_none() => {
                        if busy.load(Ordering::Relaxed) > 0 {
                            continue;
                        }
                        let now = since_open();
                        let head_from = head_from.load(Ordering::Relaxed);
                        if head_from > 0 {
                            // A head begun and not finished in time (silent or trickling).
                            if (now + 1).saturating_sub(head_from) >= limits.header_read.as_millis() as u64 {
                                break;
                            }
                        } else if now.saturating_sub(active_ms.load(Ordering::Relaxed))
                            >= limits.idle.as_millis() as u64
                        {
                            closing_until = Some(Instant::now() + CLOSING_GRACE);
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                    _ = tokio::time::sleep_until(deadline), if closing_until.is_some() => break,
                }
            }
            connections.remove(id);
        });
    }
    connections.close_all();
    let until = Instant::now() + Duration::from_secs(10);
    while connections.open() > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A request being answered on a connection.
struct Busy {
    busy: Arc<AtomicUsize>,
    active_ms: Arc<AtomicU64>,
    now_ms: Box<dyn Fn() -> u64 + Send>,
}

impl Busy {
    fn new(
        busy: Arc<AtomicUsize>,
        active_ms: Arc<AtomicU64>,
        now_ms: impl Fn() -> u64 + Send + 'static,
    ) -> Busy {
        busy.fetch_add(1, Ordering::Relaxed);
        active_ms.store(now_ms(), Ordering::Relaxed);
        Busy {
            busy,
            active_ms,
            now_ms: Box::new(now_ms),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.active_ms.store((self.now_ms)(), Ordering::Relaxed);
        self.busy.fetch_sub(1, Ordering::Relaxed);
    }
}
