//! The demo's and the package's files: compressed with brotli or gzip as the browser accepts
//! (the `.wasm` too; never the API, whose long-polls must not wait on an encoder), and kept as
//! long as their names allow.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::services::ServeDir;

/// A name that carries its content's hash (`app.<16 hex>.js`, as the demo's build writes) never
/// changes under that name: browsers keep it a year without asking again.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Any other name (the page, the package's own file names) is asked about on each use, so a new
/// build is seen at once; an unchanged file costs a `304 Not Modified` through `Last-Modified`.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

pub fn static_files(files: ServeDir) -> Router {
    // Brotli's own default (11) takes far too long for answers made on the fly; 5 is about
    // gzip's speed with smaller output.
    let compression = CompressionLayer::new().quality(CompressionLevel::Precise(5));
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_policy))
        .layer(compression)
}

async fn cache_policy(request: Request, next: Next) -> Response {
    let immutable = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    // Errors (404, 416) keep the server's no-store.
    let kept = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if kept {
        let policy = if immutable { IMMUTABLE } else { REVALIDATE };
        response.headers_mut().insert(header::CACHE_CONTROL, policy);
    }
    response
}

/// `name.<16 lowercase hex>.ext`, the form scripts/build-demo.mjs writes: the hash just before
/// the file's type and nowhere else (`app.0123456789abcdef.min.js` is not taken for one).
fn is_content_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = file.split('.').collect();
    match parts[..] {
        [name, hash, ext] => {
            !name.is_empty()
                && !ext.is_empty()
                && hash.len() == 16
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn only_names_with_a_content_hash_count_as_hashed() {
        assert!(is_content_hashed("/app.0123456789abcdef.js"));
        assert!(is_content_hashed("/runbase_image_bg.0123456789abcdef.wasm"));
        for name in [
            "/",
            "/index.html",
            "/pkg/index.js",
            "/app.js",
            "/0123456789abcdef.js",
            "/app.0123456789ABCDEF.js",
            "/app.0123456789abcde.js",
            "/app.0123456789abcdef",
            "/app.0123456789abcdefg.js",
            "/app.0123456789abcdef.js/",
            "/app.0123456789abcdef.min.js",
            "/.0123456789abcdef.js",
            "/app.0123456789abcdef.",
        ] {
            assert!(!is_content_hashed(name), "{name}");
        }
    }
}
