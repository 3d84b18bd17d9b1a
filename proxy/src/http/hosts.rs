//! The host names this server answers to: the listen address, the loopback forms,
//! and the names given with `--public-host`. Any other `Host` is refused before anything else
//! happens, which is what defeats DNS rebinding: a page on another site whose name was rebound
//! to 127.0.0.1 reaches this server with its own name in `Host` (and in `Origin`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Version};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use runbase_image::core::code::ErrorCode;

#[derive(Clone, Debug)]
pub struct Hosts {
    names: Arc<Vec<String>>,
}

impl Hosts {
    pub fn new(listen: SocketAddr, public: &[String]) -> Hosts {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        names.push(listen.ip().to_string());
        names.extend(
            public
                .iter()
                .map(|n| name_of(n).trim_end_matches('.').to_ascii_lowercase()),
        );
        names.sort();
        names.dedup();
        Hosts {
            names: Arc::new(names),
        }
    }

    /// Whether a `Host` header (name, optional port) is one of ours.
    pub fn allows(&self, host: &str) -> bool {
        let name = name_of(host).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        self.names.iter().any(|own| own == name)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// `example.com:8080` → `example.com`; `[::1]:8080` → `::1`; a bare name as it is.
fn name_of(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => {
            name
        }
        _ => host,
    }
}

/// The middleware: a request whose `Host` (or absolute-form target) is not ours gets 421
/// before any other layer runs. HTTP/1.0 requests without a Host come from tools, not from
/// browsers: they pass; HTTP/1.1 requires one.
pub async fn only_own_hosts(State(hosts): State<Hosts>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| (request.version() >= Version::HTTP_11).then_some(""));
    let target = request.uri().authority().map(|a| a.as_str());
    let refused = [host, target]
        .into_iter()
        .flatten()
        .find(|h| !hosts.allows(h));
    match refused {
        Some(host) => {
            let shown: String = host.chars().take(100).collect();
            ApiError::new(
                ErrorCode::HostNotAllowed,
                format!(
                    "This server does not answer to the host name {shown:?}; start it with \
                     --public-host NAME to serve a name of yours"
                ),
            )
            .into_response()
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_names_only() {
        let hosts = Hosts::new(
            "127.0.0.1:8080".parse().unwrap(),
            &["App.Example.com".into()],
        );
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "app.example.com",
            "app.example.com.:443",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "rebind.attacker.example:8080",
            "127.0.0.1.attacker.example",
            "localhost.attacker.example:8080",
            "",
            "[::2]:8080",
            "example.com",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
    }
}
