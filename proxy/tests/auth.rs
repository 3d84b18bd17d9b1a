//! Sign-in at the proxy, on real cryptography: the tests make their own RSA, P-256 and Ed25519
//! keys, publish them as a JWKS (a file, then over HTTP), sign tokens with them (and forge
//! others), and run the real server; forward-auth asks a real local endpoint; per-user limits
//! and run ownership hold across two instances on a real redis-server.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::{client, code, get_json, run_body, send, Redis, Server};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

/// The simulator's key for the proxy's own upstream.
const PROXY_KEY: &str = "sk-sim-proxy";
const SECRET: &str = "a shared secret of thirty-two bytes or more";

/// A signing key and the public JWK that verifies it.
struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn rsa(kid: &str) -> SigningKey {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("an RSA key");
        let der = private.to_pkcs1_der().expect("PKCS#1");
        let public = private.to_public_key();
        SigningKey {
            kid: kid.into(),
            algorithm: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({
                "kty": "RSA", "kid": kid, "use": "sig",
                "n": B64.encode(public.n().to_bytes_be()),
                "e": B64.encode(public.e().to_bytes_be()),
            }),
        }
    }

    fn p256(kid: &str) -> SigningKey {
        let rng = SystemRandom::new();
        let fixed = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(fixed, &rng).expect("a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(fixed, pkcs8.as_ref(), &rng).unwrap();
        // Uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        SigningKey {
            kid: kid.into(),
            algorithm: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid,
                "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65]),
            }),
        }
    }

    fn ed25519(kid: &str) -> SigningKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("an Ed25519 key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        SigningKey {
            kid: kid.into(),
            algorithm: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "kid": kid,
                "x": B64.encode(pair.public_key().as_ref()),
            }),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding).expect("a token")
    }
}

fn jwks(keys: &[&SigningKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims of a token valid for an hour, for `sub`, from the tests' issuer to the proxy.
fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "iss": "https://id.example", "aud": "runbase-proxy", "exp": now() + 3600 })
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

/// A token signed with HMAC-SHA256 over `secret`, made here by hand (as an attacker would).
fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, message.as_bytes());
    format!("{message}.{}", B64.encode(tag.as_ref()))
}

fn valid() -> Value {
    run_body(json!({ "prompt": "A matte ceramic vase" }))
}

async fn create(proxy: &Server, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = client().post(proxy.url("/api/v1/runs")).json(&valid());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

async fn read(proxy: &Server, id: &str, token: &str) -> (u16, Value) {
    let url = proxy.url(&format!("/api/v1/runs/{id}"));
    let (status, _, body) = send(client().get(url).bearer_auth(token)).await;
    (status, body)
}

/// A refusal: 401 with the code and a Bearer challenge.
fn assert_refused(answer: (u16, reqwest::header::HeaderMap, Value), expected: &str, why: &str) {
    let (status, headers, body) = answer;
    assert_eq!((status, code(&body)), (401, expected), "{why}: {body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"runbase\""),
        "{challenge}"
    );
}

/// Runs the simulator behind `proxy` has made for the proxy's key (its polls not counted).
/// Whether a create with `token` is taken within 15 s (a new key is read within 10 s).
async fn accepted_within_15s(proxy: &Server, token: &str) -> bool {
    for _ in 0..30 {
        if create(proxy, Some(token)).await.0 == 201 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

async fn upstream_creates(proxy: &Server) -> u64 {
    let stats = get_json(proxy.url("/__sim/stats")).await;
    stats["keys"][PROXY_KEY]["runs_created"]
        .as_u64()
        .unwrap_or(0)
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("runbase-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    // Written whole, then renamed: the server never reads half a file.
    let partial = dir.join(format!("{name}.partial"));
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path
}

fn jwt_server(jwks_source: &str) -> Server {
    Server::start(
        &[
            "--sim-run-ms",
            "500",
            "--test-faults",
            "--auth-jwks",
            jwks_source,
            "--auth-issuer",
            "https://id.example",
            "--auth-audience",
            "runbase-proxy",
            // One user makes many runs here within seconds.
            "--client-limit",
            "1000",
        ],
        &[],
    )
}

#[tokio::test]
async fn tokens_of_a_jwks_file_are_verified_with_the_key_s_own_algorithm() {
    let (rsa, p256, ed) = (
        SigningKey::rsa("rsa-1"),
        SigningKey::p256("ec-1"),
        SigningKey::ed25519("ed-1"),
    );
    let path = temp_file("keys.json", &jwks(&[&rsa, &p256, &ed]));
    let proxy = jwt_server(path.to_str().unwrap());
    assert!(proxy.wait_for_output("sign-in: ON").contains("3 key(s)"));

    for key in [&rsa, &p256, &ed] {
        let token = key.sign(&claims("alice"));
        let (status, _, run) = create(&proxy, Some(&token)).await;
        assert_eq!(status, 201, "{:?}: {run}", key.algorithm);
    }
    // Within the 60 s of clock skew allowed.
    let lately = rsa.sign(&with(claims("alice"), "exp", json!(now() - 30)));
    assert_eq!(create(&proxy, Some(&lately)).await.0, 201);
    let made = upstream_creates(&proxy).await;
    assert_eq!(made, 4);

    let forged = SigningKey::rsa("rsa-1");
    let header = |alg: &str, kid: &str| json!({ "alg": alg, "typ": "JWT", "kid": kid });
    let unsigned = format!(
        "{}.{}.",
        B64.encode(header("none", "rsa-1").to_string()),
        B64.encode(claims("alice").to_string())
    );
    // The old confusion: HMAC keyed with the public key, which anyone can read.
    let public_as_secret = rsa.jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let confused = hs256(
        &header("HS256", "rsa-1"),
        &claims("alice"),
        &public_as_secret,
    );
    let refusals = [
        (None, "auth_required", "no token"),
        (Some("not-a-jwt".to_string()), "auth_invalid", "garbage"),
        (
            Some(rsa.sign(&with(claims("alice"), "exp", json!(now() - 3600)))),
            "auth_expired",
            "expired an hour ago",
        ),
        (
            Some(rsa.sign(&with(claims("alice"), "nbf", json!(now() + 3600)))),
            "auth_invalid",
            "not valid for an hour",
        ),
        (
            Some(p256.sign(&with(claims("alice"), "iss", json!("https://evil.example")))),
            "auth_invalid",
            "another issuer",
        ),
        (
            Some(ed.sign(&with(claims("alice"), "aud", json!("another-app")))),
            "auth_invalid",
            "another audience",
        ),
        (
            Some(rsa.sign(
                &json!({ "sub": "alice", "iss": "https://id.example", "aud": "runbase-proxy" }),
            )),
            "auth_invalid",
            "no exp",
        ),
        (
            Some(SigningKey::p256("ec-unknown").sign(&claims("alice"))),
            "auth_invalid",
            "unknown kid",
        ),
        (
            Some(forged.sign(&claims("alice"))),
            "auth_invalid",
            "another key under a known kid",
        ),
        (Some(unsigned), "auth_invalid", "alg none"),
        (
            Some(confused),
            "auth_invalid",
            "HS256 signed with the RSA public key",
        ),
    ];
    for (token, expected, why) in &refusals {
        assert_refused(create(&proxy, token.as_deref()).await, expected, why);
    }
    let basic = client()
        .post(proxy.url("/api/v1/runs"))
        .header("authorization", "Basic YWxpY2U6cHc=")
        .json(&valid());
    assert_refused(send(basic).await, "auth_invalid", "not a bearer token");
    assert_eq!(
        upstream_creates(&proxy).await,
        made,
        "nothing refused went upstream"
    );

    // Reading a run needs the token too.
    let token = ed.sign(&claims("alice"));
    let (_, _, run) = create(&proxy, Some(&token)).await;
    let id = run["id"].as_str().unwrap();
    let anonymous = send(client().get(proxy.url(&format!("/api/v1/runs/{id}")))).await;
    assert_refused(anonymous, "auth_required", "a GET without a token");
    assert_eq!(read(&proxy, id, &token).await.0, 200);

    // A rotated set: a new key is picked up without a restart (the set is read again for a
    // kid it does not know, at most every 10 s).
    let rotated = SigningKey::ed25519("ed-2");
    temp_file("keys.json", &jwks(&[&rotated]));
    let token = rotated.sign(&claims("alice"));
    assert!(
        accepted_within_15s(&proxy, &token).await,
        "the rotated key was never used"
    );
    let (_, output) = proxy.stop();
    assert!(output.contains("read the JWKS again"), "{output}");
    assert!(
        output.contains(r#"user="alice""#),
        "the log names the user: {output}"
    );
    // No token is logged, not even in part.
    for (token, _, _) in &refusals {
        if let Some(token) = token {
            let signature = token.rsplit('.').next().unwrap();
            assert!(
                signature.len() < 8 || !output.contains(signature),
                "logged: {token}"
            );
        }
    }
}

/// A JWKS endpoint and a forward-auth endpoint, on one local server.
#[derive(Clone, Default)]
struct Site {
    jwks: Arc<Mutex<String>>,
    jwks_reads: Arc<AtomicU64>,
    checks: Arc<AtomicU64>,
    /// The site's sign-in is broken: answers 500.
    broken: Arc<Mutex<bool>>,
    seen: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl Site {
    async fn start(self) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let site = self.clone();
        let keys = self.clone();
        let app = axum::Router::new()
            .route(
                "/.well-known/jwks.json",
                axum::routing::get(move || async move {
                    keys.jwks_reads.fetch_add(1, Ordering::SeqCst);
                    let body = keys.jwks.lock().unwrap().clone();
                    ([("content-type", "application/json")], body).into_response()
                }),
            )
            .route(
                "/auth/check",
                axum::routing::get(move |headers: HeaderMap| async move {
                    site.checks.fetch_add(1, Ordering::SeqCst);
                    let seen = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    site.seen.lock().unwrap().push(seen);
                    if *site.broken.lock().unwrap() {
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                    let cookie = headers.get("cookie").and_then(|c| c.to_str().ok());
                    match cookie {
                        Some("session=alice-session") => {
                            ([("x-runbase-user", "alice")], "").into_response()
                        }
                        Some("session=bob-session") => {
                            ([("x-runbase-user", "bob")], "").into_response()
                        }
                        Some("session=no-user-header") => StatusCode::OK.into_response(),
                        Some("session=banned") => StatusCode::FORBIDDEN.into_response(),
                        _ => StatusCode::UNAUTHORIZED.into_response(),
                    }
                }),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (base, task)
    }
}

// The site serves while the test thread waits for the proxy to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_over_http_is_fetched_again_for_a_new_key_but_not_for_every_unknown_one() {
    let site = Site::default();
    let first = SigningKey::p256("ec-1");
    *site.jwks.lock().unwrap() = jwks(&[&first]);
    let (base, _task) = site.clone().start().await;
    let proxy = jwt_server(&format!("{base}/.well-known/jwks.json"));
    assert_eq!(site.jwks_reads.load(Ordering::SeqCst), 1, "read at start");
    assert_eq!(
        create(&proxy, Some(&first.sign(&claims("alice")))).await.0,
        201
    );

    // Fifty tokens naming keys nobody has: at most one more read.
    for i in 0..50 {
        let stranger = SigningKey::ed25519(&format!("stranger-{i}"));
        let answer = create(&proxy, Some(&stranger.sign(&claims("mallory")))).await;
        if answer.0 == 429 {
            break; // the address's refused credentials are limited too
        }
        assert_refused(answer, "auth_invalid", "unknown kid");
    }
    assert!(site.jwks_reads.load(Ordering::SeqCst) <= 2);

    let second = SigningKey::rsa("rsa-2");
    *site.jwks.lock().unwrap() = jwks(&[&first, &second]);
    let token = second.sign(&claims("bob"));
    assert!(
        accepted_within_15s(&proxy, &token).await,
        "the new key was never fetched"
    );
    assert!(site.jwks_reads.load(Ordering::SeqCst) <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_whose_new_credentials_keep_being_refused_waits_but_known_users_do_not() {
    let site = Site::default();
    let (base, _task) = site.clone().start().await;
    let check = format!("{base}/auth/check");
    let proxy = Server::start(
        &[
            "--test-faults",
            "--auth-forward",
            &check,
            "--client-limit",
            "5",
        ],
        &[],
    );
    let post = |cookie: String| {
        client()
            .post(proxy.url("/api/v1/runs"))
            .header("cookie", cookie)
            .json(&valid())
    };
    let alice = || post("session=alice-session".into());
    assert_eq!(send(alice()).await.0, 201);
    for i in 0..5 {
        let guess = send(post(format!("session=guess-{i}"))).await;
        assert_refused(guess, "auth_invalid", "a guessed cookie");
    }
    let (status, headers, body) = send(post("session=guess-5".into())).await;
    assert_eq!((status, code(&body)), (429, "RATE_LIMITED"), "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        site.checks.load(Ordering::SeqCst),
        6,
        "the sixth guess was not asked"
    );
    // Alice, from the same address, whose answer is kept, is not held up.
    assert_eq!(send(alice()).await.0, 201);
}

#[tokio::test]
async fn an_hs256_secret_from_the_environment() {
    let proxy = Server::start(
        &["--test-faults", "--sim-run-ms", "500"],
        &[("RUNBASE_AUTH_HS256_SECRET", SECRET)],
    );
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    let token = hs256(&header, &claims("alice"), SECRET.as_bytes());
    assert_eq!(create(&proxy, Some(&token)).await.0, 201);
    let wrong = hs256(
        &header,
        &claims("alice"),
        b"another secret of thirty-two bytes!!",
    );
    assert_refused(
        create(&proxy, Some(&wrong)).await,
        "auth_invalid",
        "another secret",
    );
    let expired = hs256(
        &header,
        &with(claims("a"), "exp", json!(now() - 600)),
        SECRET.as_bytes(),
    );
    assert_refused(
        create(&proxy, Some(&expired)).await,
        "auth_expired",
        "expired",
    );
    // RFC 7515 §4.1.11: a signed token whose `crit` lists an extension the proxy does not
    // understand is invalid, however well it is signed.
    for crit in [
        json!(["exp"]),
        json!(["http://example.com/bound"]),
        json!([]),
    ] {
        let header =
            json!({ "alg": "HS256", "typ": "JWT", "crit": crit, "http://example.com/bound": true });
        let critical = hs256(&header, &claims("alice"), SECRET.as_bytes());
        let answer = create(&proxy, Some(&critical)).await;
        assert!(
            answer.2["error"]["message"]
                .as_str()
                .unwrap()
                .contains("crit"),
            "{}",
            answer.2
        );
        assert_refused(answer, "auth_invalid", "an extension marked critical");
    }
    // A token signed with a key pair is not taken by a proxy that has a secret.
    let rsa = SigningKey::rsa("rsa-1").sign(&claims("alice"));
    assert_refused(
        create(&proxy, Some(&rsa)).await,
        "auth_invalid",
        "RS256 for a secret",
    );
    let (_, output) = proxy.stop();
    assert!(!output.contains(SECRET), "the secret is never printed");

    // Too short a secret does not start.
    let mut short = std::process::Command::new(env!("CARGO_BIN_EXE_runbase-server"))
        .env("RUNBASE_AUTH_HS256_SECRET", "short")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(short.wait().unwrap().code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_admits_the_site_s_users_refuses_others_and_fails_closed() {
    let site = Site::default();
    let (base, task) = site.clone().start().await;
    let check = format!("{base}/auth/check");
    let proxy = Server::start(
        &[
            "--test-faults",
            "--sim-run-ms",
            "500",
            "--auth-forward",
            &check,
        ],
        &[],
    );
    let with_cookie = |cookie: &str| {
        client()
            .post(proxy.url("/api/v1/runs"))
            .header("cookie", cookie)
            .json(&valid())
    };
    let (status, _, run) = send(with_cookie("session=alice-session")).await;
    assert_eq!(status, 201, "{run}");
    let seen = site.seen.lock().unwrap()[0].clone();
    assert_eq!(seen["cookie"], "session=alice-session");
    assert_eq!(seen["x-forwarded-method"], "POST");
    assert_eq!(seen["x-forwarded-uri"], "/api/v1/runs");
    // The site's answer for a request is kept a few seconds: reading the run again asks
    // nothing more.
    let id = run["id"].as_str().unwrap();
    for _ in 0..3 {
        let get = client()
            .get(proxy.url(&format!("/api/v1/runs/{id}")))
            .header("cookie", "session=alice-session");
        assert_eq!(send(get).await.0, 200);
    }
    assert_eq!(
        site.checks.load(Ordering::SeqCst),
        2,
        "the POST's answer, then the GET's"
    );
    // Another user of the site may not read it.
    let bob = client()
        .get(proxy.url(&format!("/api/v1/runs/{id}")))
        .header("cookie", "session=bob-session");
    let (status, _, body) = send(bob).await;
    assert_eq!((status, code(&body)), (404, "run_not_found"), "{body}");

    assert_refused(
        send(with_cookie("session=expired")).await,
        "auth_invalid",
        "401",
    );
    assert_refused(
        send(with_cookie("session=banned")).await,
        "auth_invalid",
        "403",
    );
    let none = client().post(proxy.url("/api/v1/runs")).json(&valid());
    assert_refused(send(none).await, "auth_required", "no cookie, no token");
    let made = upstream_creates(&proxy).await;

    // Broken or away, the site's check lets nobody in.
    let (status, headers, body) = send(with_cookie("session=no-user-header")).await;
    assert_eq!((status, code(&body)), (503, "auth_unavailable"), "{body}");
    assert!(headers.contains_key("retry-after"));
    *site.broken.lock().unwrap() = true;
    let (status, _, body) = send(with_cookie("session=dave-session")).await;
    assert_eq!((status, code(&body)), (503, "auth_unavailable"), "{body}");
    task.abort();
    let _ = task.await;
    let (status, _, body) = send(with_cookie("session=carol-session")).await;
    assert_eq!((status, code(&body)), (503, "auth_unavailable"), "{body}");
    assert_eq!(
        upstream_creates(&proxy).await,
        made,
        "nothing refused went upstream"
    );
    let (_, output) = proxy.stop();
    assert!(
        !output.contains("alice-session"),
        "cookies are never logged"
    );
}

/// A proxy of the simulator's key with sign-in by HS256 tokens, sharing state through Redis.
fn shared_proxy(upstream: &Server, redis: &Redis, extra: &[&str]) -> Server {
    let base = upstream.url("/sim/v1");
    let mut args = vec!["--upstream", &base, "--redis", &redis.url];
    args.extend_from_slice(extra);
    Server::start(
        &args,
        &[
            ("RUNBASE_API_KEY", PROXY_KEY),
            ("RUNBASE_AUTH_HS256_SECRET", SECRET),
        ],
    )
}

/// The simulator, a redis-server, and two proxies of its key sharing state through it.
fn two_instances(extra: &[&str]) -> (Server, Redis, Server, Server) {
    let upstream = Server::start(&["--sim-run-ms", "500", "--test-faults"], &[]);
    let redis = Redis::start();
    let a = shared_proxy(&upstream, &redis, extra);
    let b = shared_proxy(&upstream, &redis, extra);
    (upstream, redis, a, b)
}

fn token_of(user: &str) -> String {
    hs256(
        &json!({ "alg": "HS256", "typ": "JWT" }),
        &claims(user),
        SECRET.as_bytes(),
    )
}

#[tokio::test]
async fn users_behind_one_address_have_their_own_spend_and_runs_across_instances() {
    // A 1K run costs $0.05: two per user per hour.
    let (_upstream, _redis, a, b) = two_instances(&["--spend-per-client-hour-usd", "0.12"]);
    let (alice, bob) = (token_of("alice"), token_of("bob"));
    let (status, _, first) = create(&a, Some(&alice)).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(create(&b, Some(&alice)).await.0, 201);
    let (status, _, body) = create(&a, Some(&alice)).await;
    assert_eq!(
        (status, code(&body)),
        (429, "spend_limit_reached"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("this user's spending this hour"),
        "{message}"
    );
    let (status, _, body) = create(&b, Some(&alice)).await;
    assert_eq!(status, 429, "the other instance counts the same: {body}");
    // Bob, from the same address, has his own allowance.
    assert_eq!(create(&b, Some(&bob)).await.0, 201);

    // Alice's run is hers on both instances; nobody else's.
    let id = first["id"].as_str().unwrap();
    for proxy in [&a, &b] {
        assert_eq!(read(proxy, id, &alice).await.0, 200);
        let (status, body) = read(proxy, id, &bob).await;
        assert_eq!((status, code(&body)), (404, "run_not_found"), "{body}");
    }
    // Trying ids counts as lookups (4 per 10 s, on every instance together): bob has tried two.
    for proxy in [&a, &b] {
        assert_eq!(read(proxy, id, &bob).await.0, 404);
    }
    let (status, body) = read(&a, id, &bob).await;
    assert_eq!((status, code(&body)), (429, "RATE_LIMITED"), "{body}");
    // An id this proxy never made is no user's: nothing is asked upstream for it.
    let (status, body) = read(&a, "run_invented0", &alice).await;
    assert_eq!((status, code(&body)), (404, "run_not_found"), "{body}");
    let stats = get_json(a.url("/__runbase/stats")).await;
    assert_eq!(stats["runs"]["unknownFetched"], 0, "{stats}");

    // The stats show what each user spent, by a hash of their id; never a token.
    let stats = get_json(a.url("/__runbase/stats")).await;
    let users = stats["users"].as_array().unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, b"alice");
    let hash: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(users[0]["userHash"], hash.as_str());
    assert!(!stats.to_string().contains("alice"), "{stats}");
    assert_eq!(users[0]["runs"], 1);
    assert!(users[0]["spentUsd"].as_f64().unwrap() > 0.0);
    assert!(!stats.to_string().contains(&alice[..20]));
}

#[tokio::test]
async fn the_client_limit_counts_per_user_on_every_instance() {
    let (_upstream, _redis, a, b) = two_instances(&["--client-limit", "2"]);
    let (alice, bob) = (token_of("alice"), token_of("bob"));
    assert_eq!(create(&a, Some(&alice)).await.0, 201);
    assert_eq!(create(&b, Some(&alice)).await.0, 201);
    let (status, headers, body) = create(&a, Some(&alice)).await;
    assert_eq!((status, code(&body)), (429, "RATE_LIMITED"), "{body}");
    assert!(headers.contains_key("retry-after"));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("from this user"), "{message}");
    assert_eq!(create(&b, Some(&bob)).await.0, 201, "bob is not alice");
}
