//! Bearer JWTs, verified with `jsonwebtoken`: the signature with a key of the JWKS (the
//! algorithm is the key's, never the token's: `alg: none` and a token signed with HS256 over a
//! public key are refused) or with the HS256 secret; then `exp` (required), `nbf`, and `iss` /
//! `aud` when set, with 60 s of clock skew. A header with `crit` is refused: this proxy
//! understands no extension, and RFC 7515 §4.1.11 makes such a token invalid.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};

use super::jwks::Jwks;
use super::{user_id, AuthError, ClaimRules};

/// The clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;

pub struct JwtVerifier {
    keys: Keys,
    claims: ClaimRules,
}

enum Keys {
    Jwks(Jwks),
    Hs256(DecodingKey),
}

impl JwtVerifier {
    pub async fn with_jwks(
        source: &str,
        claims: ClaimRules,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        Ok(JwtVerifier {
            keys: Keys::Jwks(Jwks::load(source, http).await?),
            claims,
        })
    }

    pub fn with_secret(secret: &[u8], claims: ClaimRules) -> Self {
        JwtVerifier {
            keys: Keys::Hs256(DecodingKey::from_secret(secret)),
            claims,
        }
    }

    pub fn describe(&self) -> String {
        let keys = match &self.keys {
            Keys::Jwks(jwks) => format!("JWTs signed by a key of {}", jwks.describe()),
            Keys::Hs256(_) => "JWTs signed with the HS256 secret".to_string(),
        };
        let issuer = self.claims.issuer.as_deref().unwrap_or("any");
        let audience = self.claims.audience.as_deref().unwrap_or("any");
        format!("{keys} (issuer {issuer}, audience {audience})")
    }

    /// The token's user (`sub`), once its signature and claims hold.
    pub async fn verify(&self, token: &str) -> Result<Arc<str>, AuthError> {
        let header = decode_header(token).map_err(|_| {
            AuthError::Invalid(
                "The access token is not a JWT, or its header names an algorithm this proxy \
                 never accepts (such as \"none\")"
                    .into(),
            )
        })?;
        refuse_critical_extensions(token)?;
        let (key, algorithm) = match &self.keys {
            Keys::Jwks(jwks) => jwks.key(header.kid.as_deref()).await?,
            Keys::Hs256(secret) => (secret.clone(), Algorithm::HS256),
        };
        if header.alg != algorithm {
            return Err(AuthError::Invalid(format!(
                "The access token says it is signed with {:?}, but its key is for {algorithm:?}",
                header.alg
            )));
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.claims.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.claims.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            // Without --auth-audience any audience is accepted.
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let claims = decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|error| self.refusal(error.into_kind()))?
            .claims;
        let sub = claims["sub"].as_str().unwrap_or_default();
        user_id(sub).map_err(|why| AuthError::Invalid(format!("The token's sub: {why}")))
    }

    fn refusal(&self, kind: ErrorKind) -> AuthError {
        let why = match kind {
            ErrorKind::ExpiredSignature => return AuthError::Expired,
            ErrorKind::ImmatureSignature => "is not valid yet (its nbf is in the future)".into(),
            ErrorKind::InvalidSignature => "has a signature that does not verify".into(),
            ErrorKind::InvalidIssuer => format!(
                "was issued by someone other than {}",
                self.claims.issuer.as_deref().unwrap_or("-")
            ),
            ErrorKind::InvalidAudience => format!(
                "is meant for an audience other than {}",
                self.claims.audience.as_deref().unwrap_or("-")
            ),
            ErrorKind::MissingRequiredClaim(claim) => format!("has no {claim} claim"),
            ErrorKind::InvalidAlgorithm => "is signed with an algorithm its key is not for".into(),
            _ => "cannot be read".into(),
        };
        AuthError::Invalid(format!("The access token {why}"))
    }
}

/// RFC 7515 §4.1.11: a JWS whose `crit` header names an extension the recipient does not
/// understand is invalid (and an empty or malformed `crit` is invalid too). This proxy
/// understands none, so any `crit` refuses the token; `jsonwebtoken` does not read the field.
fn refuse_critical_extensions(token: &str) -> Result<(), AuthError> {
    use base64::Engine;
    let header = token.split('.').next().unwrap_or_default();
    let Ok(json) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return Ok(()); // unreadable: decode_header has refused it already
    };
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(&json) else {
        return Ok(());
    };
    match fields.get("crit") {
        None => Ok(()),
        Some(crit) => Err(AuthError::Invalid(format!(
            "The access token's header marks extensions as critical (crit: {}), which this \
             proxy does not understand, so the token cannot be accepted (RFC 7515 §4.1.11)",
            crit.to_string().chars().take(100).collect::<String>()
        ))),
    }
}
