//! Every error code there is, once: the API's documented ones (docs/RUNBASE-API.md, "Errors"),
//! runbase-server's (its proxy, both proxies' shared rules, the simulator) and the library's
//! own, each with the HTTP status it is answered with. On the wire and in JS a code is its
//! string; the TypeScript `RunbaseErrorCode` union is made from [`ErrorCode::ALL`].

use serde::{Deserialize, Serialize};

/// Who sends a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// The Runbase API documents it (the simulator answers it too).
    Api,
    /// runbase-server and the package's server entry: their proxy and its rules.
    Server,
    /// The simulator's test-only fault controls (`/__sim/faults`): never seen by a client.
    SimControl,
    /// The library itself, for an error made without any answer.
    Library,
}

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal, $source:ident $(($status:literal))?;)*) => {
        /// An error answer's or a RunbaseError's `code`; any other string as it came (a code
        /// the API adds later).
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
        #[serde(from = "String")]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
            Other(String),
        }

        impl ErrorCode {
            /// Every known code: the API's in the order its docs list them, the library's, the
            /// server's.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn parse(text: &str) -> ErrorCode {
                match text {
                    $($code => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_string()),
                }
            }

            // Inlined: a constant code is then its string alone, and the wasm client does not
            // link the table of every code.
            #[inline(always)]
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                    ErrorCode::Other(text) => text,
                }
            }

            pub fn source(&self) -> Option<CodeSource> {
                match self {
                    $(ErrorCode::$variant => Some(CodeSource::$source),)*
                    ErrorCode::Other(_) => None,
                }
            }

            /// The HTTP status it is answered with; `None` for the library's codes, which come
            /// without an answer, and for unknown ones.
            pub fn status(&self) -> Option<u16> {
                match self {
                    $(ErrorCode::$variant => error_codes!(@status $($status)?),)*
                    ErrorCode::Other(_) => None,
                }
            }
        }
    };
    (@status $status:literal) => { Some($status) };
    (@status) => { None };
}

error_codes! {
    /// The body is not JSON.
    InvalidJson = "invalid_json", Api(400);
    /// `model` missing or not a string.
    MissingModel = "missing_model", Api(400);
    /// `input` missing or not an object.
    MissingInput = "missing_input", Api(400);
    /// The input does not match the model's schema (the library's validator refuses it too,
    /// before any request).
    InvalidInput = "invalid_input", Api(400);
    /// Unknown model id.
    ModelNotFound = "model_not_found", Api(400);
    /// No `Authorization: Bearer ...` header.
    MissingApiKey = "missing_api_key", Api(401);
    /// The key is invalid, disabled or expired.
    InvalidApiKey = "invalid_api_key", Api(401);
    /// The balance is too low for this run.
    InsufficientBalance = "insufficient_balance", Api(402);
    /// The key's lifetime spend limit is reached.
    ApiKeySpendLimitExceeded = "api_key_spend_limit_exceeded", Api(403);
    /// The caller's IP is not in the key's allow-list.
    IpNotAllowed = "ip_not_allowed", Api(403);
    /// No run with this id for this key (or, behind sign-in, for this user).
    RunNotFound = "run_not_found", Api(404);
    /// Too many requests in a short window: wait and retry.
    RateLimited = "RATE_LIMITED", Api(429);
    /// The key's quota is exhausted: retrying does not help.
    UsageExceeded = "USAGE_EXCEEDED", Api(429);

    /// A client or call option that cannot be used.
    InvalidOptions = "invalid_options", Library;
    /// The `accessToken` callback gave no token.
    AccessTokenUnavailable = "access_token_unavailable", Library;
    /// A synchronous function called before the module was loaded.
    NotInitialized = "not_initialized", Library;
    /// The `.wasm` file could not be had.
    WasmNotFound = "wasm_not_found", Library;
    /// A function given a value of the wrong kind.
    InvalidArgument = "invalid_argument", Library;
    /// A reference file that is not an image.
    ImageUrlNotImage = "image_url_not_image", Library;
    /// A reference file or URL that cannot be used.
    ImageUrlInvalid = "image_url_invalid", Library;
    /// A reference image that could not be made small enough.
    ImageUrlTooLarge = "image_url_too_large", Library;
    /// A reference image the browser cannot decode or encode.
    ImageNotDecodable = "image_not_decodable", Library;

    /// Sign-in is on and the request brought no credentials.
    AuthRequired = "auth_required", Server(401);
    /// The credentials do not hold (signature, claims, a refused session).
    AuthInvalid = "auth_invalid", Server(401);
    /// The access token has expired.
    AuthExpired = "auth_expired", Server(401);
    /// The sign-in service (JWKS or forward-auth endpoint) did not answer.
    AuthUnavailable = "auth_unavailable", Server(503);
    /// A page from an origin the proxy does not trust.
    OriginNotAllowed = "origin_not_allowed", Server(403);
    /// A Host header the server does not answer to.
    HostNotAllowed = "host_not_allowed", Server(421);
    /// A model this proxy does not run (or cannot check).
    ModelNotAllowed = "model_not_allowed", Server(400);
    /// A body over the proxy's limit.
    PayloadTooLarge = "payload_too_large", Server(413);
    /// The body ended before its Content-Length.
    IncompleteBody = "incomplete_body", Server(400);
    /// The body arrived too slowly.
    RequestTimeout = "request_timeout", Server(408);
    /// The proxy's memory for bodies, or the key's spare budget for lookups, is in use.
    ServerBusy = "server_busy", Server(503);
    /// A spend limit (`--spend-*-usd`) is reached.
    SpendLimitReached = "spend_limit_reached", Server(429);
    /// Redis does not answer where a shared limit must be checked.
    SharedStateUnavailable = "SHARED_STATE_UNAVAILABLE", Server(503);
    /// The API did not answer in time.
    UpstreamTimeout = "upstream_timeout", Server(504);
    /// No answer could be had from the API.
    UpstreamUnreachable = "upstream_unreachable", Server(502);
    /// The API answered a success that is not a run object.
    UpstreamInvalidResponse = "upstream_invalid_response", Server(502);
    /// A path the proxy does not serve.
    NotFound = "not_found", Server(404);
    /// A method the proxy does not take.
    MethodNotAllowed = "method_not_allowed", Server(405);
    /// The proxy failed in a way it did not expect.
    InternalError = "internal_error", Server(500);
    /// The package's server entry was given no API key.
    ApiKeyMissing = "api_key_missing", Server(500);

    /// A fault the simulator's controls do not know.
    InvalidFault = "invalid_fault", SimControl(400);
}

impl ErrorCode {
    /// Whether docs/RUNBASE-API.md documents this code.
    pub fn is_documented(&self) -> bool {
        self.source() == Some(CodeSource::Api)
    }
}

impl From<String> for ErrorCode {
    fn from(text: String) -> Self {
        match ErrorCode::parse(&text) {
            ErrorCode::Other(_) => ErrorCode::Other(text),
            known => known,
        }
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Other(text) => text,
            known => known.as_str().to_string(),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_their_strings_both_ways() {
        for code in ErrorCode::ALL {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
            assert_eq!(&ErrorCode::from(String::from(code.clone())), code);
            assert_eq!(code.to_string(), code.as_str());
            // Answered codes have a status; the library's come without an answer.
            let answered = code.source() != Some(CodeSource::Library);
            assert_eq!(code.status().is_some(), answered, "{code}");
        }
        let documented = ErrorCode::ALL.iter().filter(|c| c.is_documented()).count();
        assert_eq!(documented, 13);
        let other = ErrorCode::from("a_code_added_later".to_string());
        assert_eq!(other, ErrorCode::Other("a_code_added_later".into()));
        assert!(!other.is_documented() && other == "a_code_added_later");
        assert_eq!((other.status(), other.source()), (None, None));
        // Codes are case-sensitive as documented: `rate_limited` is not `RATE_LIMITED`.
        assert!(!ErrorCode::parse("rate_limited").is_documented());
    }
}
