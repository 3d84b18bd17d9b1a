//! Every flag of the server, declared once with clap: its name, its environment variable
//! (`RUNBASE_` and the flag's name), its default and its help, which `--help` prints. Flags
//! win over the environment. The API key is read from `RUNBASE_API_KEY` only, never from a
//! flag (flags show in `ps`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::Parser;

use crate::auth::{AuthSettings, ClaimRules};
use crate::broker::scheduler::KeyLimits;
use crate::broker::BrokerSettings;
use crate::gateway::MAX_BODY_BYTES;
use crate::http::accept::ConnectionLimits;
use crate::http::trace::LogFormat;
use crate::spend::SpendLimits;
use crate::upstream::Secret;
use runbase_image::core::gateway;

#[derive(Parser, Debug)]
// A flag given twice: the last one counts, as in most tools.
#[command(
    name = "runbase-server",
    version,
    args_override_self = true,
    about = "Serves the demo and the wasm package, and the Runbase API under a prefix: as a \
             key-holding proxy to the real API (RUNBASE_API_KEY set) or, by default, on the \
             built-in simulator.",
    after_help = "Every flag has an environment variable (shown with each); flags win. \
                  The API key is read from RUNBASE_API_KEY only, never from a flag; the HS256 secret of sign-in \
                  from RUNBASE_AUTH_HS256_SECRET only."
)]
pub struct Flags {
    /// Address to listen on (port 0: any free port)
    #[arg(long, env = "RUNBASE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The site served at / (scripts/build builds the demo into dist/)
    #[arg(long, env = "RUNBASE_WWW", default_value = "dist")]
    www: PathBuf,
    /// The built package's directory, served under /pkg
    #[arg(long, env = "RUNBASE_PKG", default_value = "pkg")]
    pkg: PathBuf,
    /// Where the browser reaches the API (`{prefix}/runs`)
    #[arg(long, env = "RUNBASE_API_PREFIX", default_value = "/api/v1", value_parser = api_prefix)]
    api_prefix: String,
    /// The real API, used when RUNBASE_API_KEY is set
    #[arg(
        long,
        env = "RUNBASE_UPSTREAM",
        default_value = "https://api.runbase.net/v1"
    )]
    upstream: String,
    /// Models the proxy forwards (only models the library can validate)
    #[arg(long, env = "RUNBASE_ALLOWED_MODELS", value_delimiter = ',',
          default_value = runbase_image::GPT_IMAGE_2.id, value_parser = known_model)]
    allowed_models: Vec<String>,
    /// Page origins allowed to call the API from another origin (`*`: any)
    #[arg(long, env = "RUNBASE_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Host names answered besides the listen address and loopback (a public name)
    #[arg(
        long = "public-host",
        env = "RUNBASE_PUBLIC_HOST",
        value_delimiter = ','
    )]
    public_hosts: Vec<String>,
    /// Requests per client address per 10 s [default: --key-requests with the broker, 40
    /// without]
    #[arg(long, env = "RUNBASE_CLIENT_LIMIT")]
    client_limit: Option<usize>,
    /// Time-out of one upstream request
    #[arg(long, env = "RUNBASE_UPSTREAM_TIMEOUT_MS", default_value_t = 60_000)]
    upstream_timeout_ms: u64,
    /// Time allowed to send a request body (then 408)
    #[arg(long, env = "RUNBASE_BODY_TIMEOUT_MS", default_value_t = 20_000)]
    body_timeout_ms: u64,
    /// How long a simulated run takes
    #[arg(long, env = "RUNBASE_SIM_RUN_MS", default_value_t = 4_000)]
    sim_run_ms: u64,
    /// Spread of simulated run times, in percent either way
    #[arg(long, env = "RUNBASE_SIM_RUN_SPREAD", default_value_t = 0)]
    sim_run_spread: u64,
    /// The simulator counts refused requests toward a key's window too (the strictest reading
    /// of the API's limit: a client that keeps knocking stays locked out)
    #[arg(long, env = "RUNBASE_SIM_STRICT_WINDOW", value_parser = BoolishValueParser::new(),
          default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    sim_strict_window: bool,
    /// Test fault controls at /__sim (never in production)
    #[arg(long, env = "RUNBASE_TEST_FAULTS", value_parser = BoolishValueParser::new(),
          default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    test_faults: bool,
    /// No broker: every browser request is forwarded upstream
    #[arg(long, env = "RUNBASE_PASS_THROUGH", value_parser = BoolishValueParser::new(),
          default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pass_through: bool,
    /// The key's documented limit: requests per window
    #[arg(long, env = "RUNBASE_KEY_REQUESTS", default_value_t = gateway::KEY_REQUESTS)]
    key_requests: u64,
    /// The key's window
    #[arg(long, env = "RUNBASE_KEY_WINDOW_MS", default_value_t = gateway::KEY_WINDOW_MS)]
    key_window_ms: u64,
    /// Added to the window: the API counts arrivals, the proxy answers
    #[arg(long, env = "RUNBASE_KEY_MARGIN_MS", default_value_t = gateway::KEY_MARGIN_MS)]
    key_margin_ms: u64,
    /// Requests per window the broker leaves unused (for other users of the key)
    #[arg(long, env = "RUNBASE_KEY_SPARE", default_value_t = gateway::KEY_SPARE)]
    key_spare: u64,
    /// Creates that may wait for the key at once (beyond: the proxy's own 429)
    #[arg(long, env = "RUNBASE_QUEUE_MAX", default_value_t = 64)]
    queue_max: usize,
    /// The longest a create waits for the key
    #[arg(long, env = "RUNBASE_QUEUE_WAIT_MS", default_value_t = 30_000)]
    queue_wait_ms: u64,
    /// Between polls of a run not finished when expected (at least 100)
    #[arg(long, env = "RUNBASE_POLL_INTERVAL_MS", default_value_t = 1_000)]
    poll_interval_ms: u64,
    /// First poll of a run of a resolution nothing has been learned about
    #[arg(long, env = "RUNBASE_FIRST_POLL_MS", default_value_t = 2_000)]
    first_poll_ms: u64,
    /// The long-poll advertised to clients (1-60)
    #[arg(long, env = "RUNBASE_LONG_POLL_S", default_value_t = 25)]
    long_poll_s: u64,
    /// How long finished runs stay in the run table
    #[arg(long, env = "RUNBASE_KEEP_FINISHED_MS", default_value_t = 3_600_000)]
    keep_finished_ms: u64,
    /// Redis shared by every instance of one key (redis://…)
    #[arg(long, env = "RUNBASE_REDIS", hide_env_values = true)]
    redis: Option<String>,
    /// Time to send a request's headers (at least 100)
    #[arg(long, env = "RUNBASE_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// An idle connection is closed after this (at least 100)
    #[arg(long, env = "RUNBASE_IDLE_TIMEOUT_MS", default_value_t = 20_000)]
    idle_timeout_ms: u64,
    /// Open connections at most [default 0: what the open-files limit allows, up to 4096]
    #[arg(long, env = "RUNBASE_MAX_CONNECTIONS", default_value_t = 0)]
    max_connections: usize,
    /// Open connections per client address
    #[arg(long, env = "RUNBASE_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    max_connections_per_client: usize,
    /// Memory for request bodies in flight, all clients together
    #[arg(long, env = "RUNBASE_BODY_BUDGET_MB", default_value_t = 96)]
    body_budget_mb: usize,
    /// The most one client address may spend per hour
    #[arg(long, env = "RUNBASE_SPEND_PER_CLIENT_HOUR_USD", value_parser = micro_usd)]
    spend_per_client_hour_usd: Option<u64>,
    /// The most one client address may spend per day
    #[arg(long, env = "RUNBASE_SPEND_PER_CLIENT_DAY_USD", value_parser = micro_usd)]
    spend_per_client_day_usd: Option<u64>,
    /// The most the whole proxy may spend per day
    #[arg(long, env = "RUNBASE_SPEND_PER_DAY_USD", value_parser = micro_usd)]
    spend_per_day_usd: Option<u64>,
    /// Only signed-in users: Bearer JWTs signed by a key of this JWKS (a file or an http(s)
    /// URL). Or, instead, RUNBASE_AUTH_HS256_SECRET (environment only): JWTs signed with HS256
    #[arg(long, env = "RUNBASE_AUTH_JWKS")]
    auth_jwks: Option<String>,
    /// With JWTs: the `iss` a token must have
    #[arg(long, env = "RUNBASE_AUTH_ISSUER")]
    auth_issuer: Option<String>,
    /// With JWTs: the `aud` a token must have
    #[arg(long, env = "RUNBASE_AUTH_AUDIENCE")]
    auth_audience: Option<String>,
    /// Only signed-in users, as the site's own endpoint says (forward-auth): asked with the
    /// request's Cookie and Authorization, a 2xx with X-Runbase-User admits that user
    #[arg(long, env = "RUNBASE_AUTH_FORWARD")]
    auth_forward: Option<String>,
    /// Log lines for people or, as JSON, for log shippers
    #[arg(long, env = "RUNBASE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// The server's settings, read from the flags and the environment.
pub struct Config {
    pub listen: SocketAddr,
    pub www: PathBuf,
    pub pkg: PathBuf,
    pub api_prefix: String,
    pub api_key: Option<Secret>,
    pub upstream: String,
    pub allowed_models: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub public_hosts: Vec<String>,
    pub client_limit: usize,
    pub upstream_timeout: Duration,
    pub body_timeout: Duration,
    pub sim_run_time: Duration,
    pub sim_run_spread: u64,
    pub sim_strict_window: bool,
    pub test_faults: bool,
    pub pass_through: bool,
    pub limits: KeyLimits,
    pub broker: BrokerSettings,
    pub redis: Option<String>,
    pub connections: ConnectionLimits,
    pub body_budget: usize,
    pub spend: SpendLimits,
    pub log_format: LogFormat,
    /// Who may spend; `None`: anyone who reaches the proxy.
    pub auth: Option<AuthSettings>,
}

/// The shortest HS256 secret taken: the hash's own size (RFC 7518, 3.2).
const MIN_HS256_SECRET_BYTES: usize = 32;

impl Flags {
    fn auth(&self) -> Result<Option<AuthSettings>, String> {
        let secret = std::env::var("RUNBASE_AUTH_HS256_SECRET")
            .ok()
            .filter(|s| !s.is_empty());
        let claims = ClaimRules {
            issuer: self.auth_issuer.clone(),
            audience: self.auth_audience.clone(),
        };
        let jwt_rules = claims.issuer.is_some() || claims.audience.is_some();
        let auth = match (&self.auth_jwks, secret, &self.auth_forward) {
            (None, None, None) if jwt_rules => {
                return Err("--auth-issuer and --auth-audience go with --auth-jwks or \
                            RUNBASE_AUTH_HS256_SECRET"
                    .into())
            }
            (None, None, None) => return Ok(None),
            (Some(source), None, None) => AuthSettings::Jwks {
                source: source.clone(),
                claims,
            },
            (None, Some(secret), None) if secret.len() < MIN_HS256_SECRET_BYTES => {
                return Err(format!(
                    "RUNBASE_AUTH_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes"
                ))
            }
            (None, Some(secret), None) => AuthSettings::Hs256 {
                secret: Secret::new(secret),
                claims,
            },
            (None, None, Some(_)) if jwt_rules => {
                return Err("--auth-issuer and --auth-audience go with JWTs, not with \
                            --auth-forward (the site's endpoint checks the credentials)"
                    .into())
            }
            (None, None, Some(url))
                if !url.starts_with("http://") && !url.starts_with("https://") =>
            {
                return Err(format!(
                    "--auth-forward must be an http(s) URL, not {url:?}"
                ))
            }
            (None, None, Some(url)) => AuthSettings::Forward { url: url.clone() },
            _ => {
                return Err("one way to sign users in at a time: --auth-jwks, \
                            RUNBASE_AUTH_HS256_SECRET or --auth-forward"
                    .into())
            }
        };
        if self.pass_through {
            return Err(
                "signed-in users own their runs, which the broker keeps: --auth-* \
                        cannot go with --pass-through"
                    .into(),
            );
        }
        Ok(Some(auth))
    }

    /// The config the flags say, with what follows from them; `open_files`: how many files
    /// the process may have open, which bounds the connections.
    pub fn into_config(self, open_files: u64) -> Result<Config, String> {
        let auth = self.auth()?;
        let redis = self.redis.filter(|url| !url.is_empty());
        if redis.is_some() && self.pass_through {
            return Err(
                "--redis shares the broker's state: it cannot go with --pass-through".into(),
            );
        }
        if self.client_limit == Some(0) {
            return Err("--client-limit must be at least 1".into());
        }
        if self.key_requests == 0 || self.key_spare >= self.key_requests {
            return Err("--key-requests must be at least 1 and more than --key-spare".into());
        }
        let ms = Duration::from_millis;
        let list = |values: Vec<String>| -> Vec<String> {
            values
                .iter()
                .map(|s| s.trim().trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let upstream_timeout = ms(self.upstream_timeout_ms);
        let mut limits = KeyLimits {
            requests: (self.key_requests - self.key_spare) as usize,
            window: ms(self.key_window_ms.max(1)),
            margin: ms(self.key_margin_ms),
            starve: Duration::from_secs(2),
            in_flight: Duration::ZERO,
        };
        // In the shared window, a slot in flight counts until its answer is due at the latest.
        limits.in_flight = upstream_timeout + limits.hold();
        // Open connections stay well under the files the process may have open (each also
        // needs one upstream now and then, and files are served).
        let fit = (open_files.saturating_sub(128) / 2).max(16) as usize;
        let max_connections = match self.max_connections {
            0 => fit.min(4096),
            n => n.min(fit),
        };
        Ok(Config {
            listen: self.listen,
            www: self.www,
            pkg: self.pkg,
            api_prefix: self.api_prefix,
            api_key: std::env::var("RUNBASE_API_KEY")
                .ok()
                .filter(|k| !k.trim().is_empty())
                .map(Secret::new),
            upstream: self.upstream.trim_end_matches('/').to_string(),
            allowed_models: list(self.allowed_models),
            allowed_origins: list(self.allowed_origins),
            public_hosts: list(self.public_hosts),
            // By default a client may use what the key has behind the broker (which shares it
            // out fairly); without it every poll counts too.
            client_limit: self.client_limit.unwrap_or(if self.pass_through {
                40
            } else {
                self.key_requests as usize
            }),
            upstream_timeout,
            body_timeout: ms(self.body_timeout_ms),
            sim_run_time: ms(self.sim_run_ms),
            sim_run_spread: self.sim_run_spread,
            sim_strict_window: self.sim_strict_window,
            test_faults: self.test_faults,
            pass_through: self.pass_through,
            limits,
            broker: BrokerSettings {
                long_poll_secs: self.long_poll_s.clamp(1, 60),
                max_wait_secs: 60,
                queue_max: self.queue_max,
                queue_wait: ms(self.queue_wait_ms),
                poll_interval: ms(self.poll_interval_ms.max(100)),
                first_poll: ms(self.first_poll_ms),
                keep_finished: ms(self.keep_finished_ms),
                keep_max: 10_000,
            },
            redis,
            connections: ConnectionLimits {
                header_read: ms(self.header_timeout_ms.max(100)),
                idle: ms(self.idle_timeout_ms.max(100)),
                max_connections,
                max_per_client: self.max_connections_per_client.max(1),
            },
            // A quarter must hold one largest body.
            body_budget: (self.body_budget_mb * 1_000_000).max(4 * MAX_BODY_BYTES),
            spend: SpendLimits {
                per_client_hour: self.spend_per_client_hour_usd,
                per_client_day: self.spend_per_client_day_usd,
                per_day: self.spend_per_day_usd,
            },
            log_format: self.log_format,
            auth,
        })
    }
}

fn api_prefix(prefix: &str) -> Result<String, String> {
    let reserved = ["/sim", "/pkg"].iter().any(|p| prefix.starts_with(p));
    if !prefix.starts_with('/') || prefix.ends_with('/') || reserved {
        return Err(format!("it must look like /api/v1, not {prefix:?}"));
    }
    Ok(prefix.to_string())
}

/// The proxy forwards only input the library has checked, so only models it knows.
fn known_model(id: &str) -> Result<String, String> {
    let id = id.trim();
    if runbase_image::find_model(id).is_some() {
        return Ok(id.to_string());
    }
    let known: Vec<&str> = runbase_image::MODELS.iter().map(|m| m.id).collect();
    Err(format!(
        "{id:?} is not a model this library can validate (known: {})",
        known.join(", ")
    ))
}

/// Dollars as micro-dollars, the unit of every price and spend.
fn micro_usd(text: &str) -> Result<u64, String> {
    match text.trim().parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok((usd * 1e6).round() as u64),
        _ => Err(format!("an amount in dollars is wanted, not {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let flags =
            Flags::try_parse_from(std::iter::once("runbase-server").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
        flags.into_config(1024)
    }

    #[test]
    fn flags_and_their_checks() {
        let config = parse(&["--listen", "127.0.0.1:0", "--spend-per-day-usd", "2.5"]).unwrap();
        assert_eq!(config.spend.per_day, Some(2_500_000));
        assert_eq!(config.client_limit, 20);
        assert_eq!(config.limits.requests, 19);
        assert!(parse(&["--pass-through"]).unwrap().pass_through);
        let error = parse(&["--allowed-models", "openai/gpt-image-2,acme/x"])
            .err()
            .unwrap();
        assert!(
            error.contains("\"acme/x\" is not a model this library can validate"),
            "{error}"
        );
        assert!(parse(&["--api-prefix", "/sim/v1"]).is_err());
        assert!(parse(&["--key-requests", "1", "--key-spare", "1"]).is_err());
        assert!(parse(&["--redis", "redis://x", "--pass-through"]).is_err());
        // A switch set off is off, with --redis or not.
        let off = parse(&["--redis", "redis://x", "--pass-through=false"]).unwrap();
        assert!(!off.pass_through && off.redis.is_some());
        assert!(parse(&["--client-limit", "0"]).is_err());
        assert!(parse(&["--nonsense"]).is_err());
        let twice = parse(&["--queue-max", "1", "--queue-max", "2"]).unwrap();
        assert_eq!(twice.broker.queue_max, 2, "the last one counts");
    }

    #[test]
    fn one_way_to_sign_in() {
        assert!(parse(&[]).unwrap().auth.is_none());
        let jwks = parse(&["--auth-jwks", "keys.json", "--auth-issuer", "https://id"]).unwrap();
        assert!(matches!(jwks.auth, Some(AuthSettings::Jwks { .. })));
        let both = parse(&["--auth-jwks", "k.json", "--auth-forward", "http://a/check"]);
        assert!(both.err().unwrap().contains("one way"));
        assert!(parse(&["--auth-issuer", "https://id"]).is_err());
        assert!(parse(&["--auth-forward", "http://a/check", "--auth-audience", "x"]).is_err());
        assert!(parse(&["--auth-forward", "a/check"]).is_err());
        let through = parse(&["--auth-forward", "http://a/check", "--pass-through"]);
        assert!(through.err().unwrap().contains("--pass-through"));
    }
}
