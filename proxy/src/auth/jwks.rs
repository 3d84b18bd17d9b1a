//! A JSON Web Key Set, read from a file or fetched from a URL. A token naming a key not in
//! the set makes the proxy read the set again (at most every 10 s), so a rotated key works
//! without a restart; the set is also read again when older than 5 minutes, so a key taken out
//! stops working then.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::time::Instant;

use super::AuthError;
use crate::lock::locked;

/// The least time between two reads of the set (a flood of unknown `kid`s costs one read).
const REREAD_AFTER: Duration = Duration::from_secs(10);
/// A set older than this is read again before use.
const MAX_AGE: Duration = Duration::from_secs(300);
/// The longest a JWKS URL may take to answer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest key set read (a real one is a few KB).
const MAX_SET_BYTES: usize = 1 << 20;

pub struct Jwks {
    source: String,
    http: reqwest::Client,
    set: std::sync::Mutex<KeySet>,
    /// One read at a time; the others wait for it and use its set.
    reading: tokio::sync::Mutex<()>,
}

struct KeySet {
    /// By `kid` (`None`: a key without one).
    keys: HashMap<Option<String>, (DecodingKey, Algorithm)>,
    read_at: Instant,
    tried_at: Instant,
}

impl Jwks {
    pub async fn load(source: &str, http: reqwest::Client) -> Result<Jwks, String> {
        let keys = read(source, &http).await?;
        if source.starts_with("http://") {
            tracing::warn!(
                "the JWKS is read over plain http: whoever is on the way can add keys; use https \
                 unless {source} is on a private network"
            );
        }
        let now = Instant::now();
        Ok(Jwks {
            source: source.to_string(),
            http,
            set: std::sync::Mutex::new(KeySet {
                keys,
                read_at: now,
                tried_at: now,
            }),
            reading: tokio::sync::Mutex::new(()),
        })
    }

    pub fn describe(&self) -> String {
        let count = locked(&self.set).keys.len();
        format!("the JWKS at {} ({count} key(s))", self.source)
    }

    /// The key a token names by `kid`, and the algorithm it is for.
    pub async fn key(&self, kid: Option<&str>) -> Result<(DecodingKey, Algorithm), AuthError> {
        // Only the key found is copied out of the lock, not the set.
        let (found, fresh, may_read) = {
            let set = locked(&self.set);
            let fresh = set.read_at.elapsed() < MAX_AGE;
            (
                find(&set, kid),
                fresh,
                set.tried_at.elapsed() >= REREAD_AFTER,
            )
        };
        if found.is_ok() && fresh {
            return found;
        }
        if may_read {
            self.read_again().await;
        }
        find(&locked(&self.set), kid)
    }

    async fn read_again(&self) {
        let _reading = self.reading.lock().await;
        // Another request read it meanwhile.
        if locked(&self.set).tried_at.elapsed() < REREAD_AFTER {
            return;
        }
        locked(&self.set).tried_at = Instant::now();
        match read(&self.source, &self.http).await {
            Ok(keys) => {
                let mut set = locked(&self.set);
                set.keys = keys;
                set.read_at = Instant::now();
                tracing::info!(keys = set.keys.len(), "read the JWKS again");
            }
            // The set in hand stays in use.
            Err(error) => tracing::warn!("could not read the JWKS again: {error}"),
        }
    }
}

fn find(set: &KeySet, kid: Option<&str>) -> Result<(DecodingKey, Algorithm), AuthError> {
    let found = match kid {
        Some(kid) => set.keys.get(&Some(kid.to_string())),
        // A token without a kid goes with a set of one key only.
        None if set.keys.len() == 1 => set.keys.values().next(),
        None => None,
    };
    found.cloned().ok_or_else(|| {
        AuthError::Invalid(match kid {
            Some(kid) => format!("The access token names key {kid:?}, which is not in the key set"),
            None => "The access token names no key (kid), and the key set has several".into(),
        })
    })
}

/// Reads the set and keeps the keys it can verify signatures with.
async fn read(
    source: &str,
    http: &reqwest::Client,
) -> Result<HashMap<Option<String>, (DecodingKey, Algorithm)>, String> {
    let bytes = if source.starts_with("https://") || source.starts_with("http://") {
        let mut answer = http
            .get(source)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {source}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("{source} answered HTTP {}", answer.status()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = answer
            .chunk()
            .await
            .map_err(|e| format!("cannot read {source}: {e}"))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_SET_BYTES {
                return Err(format!("{source} is over {MAX_SET_BYTES} bytes"));
            }
        }
        bytes
    } else {
        tokio::fs::read(source)
            .await
            .map_err(|e| format!("cannot read {source}: {e}"))?
    };
    // Key by key: one this proxy cannot use (another curve, a newer type) is left out, not
    // the whole set.
    let set: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{source} is not JSON: {e}"))?;
    let Some(serde_json::Value::Array(set)) = set.get("keys").cloned() else {
        return Err(format!(
            "{source} is not a JSON Web Key Set: no \"keys\" array"
        ));
    };
    let keys: HashMap<_, _> = set
        .into_iter()
        .filter_map(|value| {
            let jwk: Jwk = serde_json::from_value(value).ok()?;
            let algorithm = algorithm(&jwk)?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some((jwk.common.key_id.clone(), (key, algorithm)))
        })
        .collect();
    if keys.is_empty() {
        return Err(format!(
            "the key set at {source} has no key this proxy can verify with (RSA, P-256, P-384 \
             or Ed25519)"
        ));
    }
    Ok(keys)
}

/// The algorithm a key verifies: the one it declares, when that fits the key, else its
/// type's. Symmetric (`oct`) keys and keys for encryption are never used: a public key set
/// must not make a shared secret out of public data.
fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    use KeyAlgorithm as K;
    let declared = jwk.common.key_algorithm;
    Some(match (&jwk.algorithm, declared) {
        (AlgorithmParameters::RSA(_), None | Some(K::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::RSA(_), Some(K::RS384)) => Algorithm::RS384,
        (AlgorithmParameters::RSA(_), Some(K::RS512)) => Algorithm::RS512,
        (AlgorithmParameters::RSA(_), Some(K::PS256)) => Algorithm::PS256,
        (AlgorithmParameters::EllipticCurve(p), None | Some(K::ES256))
            if p.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        (AlgorithmParameters::EllipticCurve(p), None | Some(K::ES384))
            if p.curve == EllipticCurve::P384 =>
        {
            Algorithm::ES384
        }
        (AlgorithmParameters::OctetKeyPair(p), None | Some(K::EdDSA))
            if p.curve == EllipticCurve::Ed25519 =>
        {
            Algorithm::EdDSA
        }
        _ => return None,
    })
}
