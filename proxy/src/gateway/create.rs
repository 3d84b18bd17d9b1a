//! `POST /runs`, one path for the broker and pass-through alike: admission makes one
//! [`AdmittedCreate`] (who it counts against, the checked body, its resolution, the spend
//! held for it), forwarding is one choice between the broker and the upstream itself, and
//! [`sent`] settles the spend and counts the run, whichever forwarded it. The rules of the
//! body are the core's `admit_create`, which the package's server entry runs too.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use runbase_image::core::gateway::{admit_create, Admitted, Refusal, MAX_BODY_BYTES};

use super::{Gateway, Gw};
use crate::auth::{Caller, Credentials};
use crate::http::body_budget::Reservation;
use crate::http::error::ApiError;
use crate::http::trace::record_run_id;
use crate::spend::{self, Hold, Upshot};
use crate::upstream::{Upstream, UpstreamReply};

/// A create that passed every check, ready to go upstream.
pub struct AdmittedCreate {
    pub caller: Caller,
    /// The model and the input as validated, defaults filled in, nothing else.
    pub body: Bytes,
    /// Which learned run time applies.
    pub resolution: &'static str,
    /// The price held against the spend limits; `None` without any.
    pub hold: Option<Hold>,
    /// The browser's Host, which the simulator builds image URLs from.
    pub host: Option<HeaderValue>,
    /// The body's place in the proxy's memory budget, held until the create has gone
    /// upstream (the checked body waits in the queue).
    pub body_reserved: Reservation,
}

pub(super) async fn create_run(
    State(Gw(gw)): State<Gw>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let credentials = Credentials {
        method: &parts.method,
        path: uri.path(),
        headers: &parts.headers,
        client: client.ip(),
    };
    let create = match gw.admit_create(&credentials, body).await {
        Ok(create) => create,
        Err(refusal) => return refusal.into_response(),
    };
    match &gw.broker {
        Some(broker) => broker.create(create).await,
        None => gw.pass_through(create).await,
    }
}

impl Gateway {
    /// Every check of a create, in order: the page's origin, the caller and its request
    /// window, the body's size (reserved in the memory budget before it is read), the body
    /// itself (the core's rules), then the spend limits. A body refused unread is still read
    /// and dropped before the answer: clients often cannot read an answer sent while their
    /// body is still going out.
    async fn admit_create(
        &self,
        request: &Credentials<'_>,
        body: Body,
    ) -> Result<AdmittedCreate, ApiError> {
        let (caller, body_reserved) = match self.admit_body_size(request).await {
            Ok(admitted) => admitted,
            Err(refusal) => {
                discard_body(body, self.body_timeout).await;
                return Err(refusal);
            }
        };
        let received = read_body(body, self.body_timeout).await?;
        let Admitted {
            body,
            resolution,
            price_micro_usd,
        } = admit_create(&received, &self.allowed_models)?;
        // The body as received (up to 22 MB) is not kept while the spend limits are asked.
        drop(received);
        let hold = match &self.spend {
            Some(guard) => Some(guard.reserve(&caller, price_micro_usd).await?),
            None => None,
        };
        Ok(AdmittedCreate {
            caller,
            body: Bytes::from(body),
            resolution,
            hold,
            host: request.headers.get(header::HOST).cloned(),
            body_reserved,
        })
    }

    /// The checks before the body is read: who sends it, and room for its declared size.
    async fn admit_body_size(
        &self,
        request: &Credentials<'_>,
    ) -> Result<(Caller, Reservation), ApiError> {
        let caller = self.admit(request).await?;
        let declared = declared_length(request.headers).unwrap_or(MAX_BODY_BYTES);
        if declared > MAX_BODY_BYTES {
            return Err(Refusal::too_large().into());
        }
        let reserved = self.body_budget.reserve(&caller, declared)?;
        Ok((caller, reserved))
    }

    /// `--pass-through`: the create goes upstream at once, with no queue.
    async fn pass_through(&self, create: AdmittedCreate) -> Response {
        let AdmittedCreate {
            body, hold, host, ..
        } = create;
        let result = self
            .upstream
            .call(Method::POST, "/runs", host.as_ref(), Some(body))
            .await;
        sent(&self.upstream, hold, &result).await;
        match result {
            Ok(answer) => answer.into_response(),
            Err(error) => error.into_response(),
        }
    }
}

/// A create's request came back, or failed without an answer (a 429 the broker retries is
/// not this): the spend held is settled, and a run made is counted and logged.
pub async fn sent(
    upstream: &Upstream,
    hold: Option<Hold>,
    result: &Result<UpstreamReply, ApiError>,
) {
    let upshot = match result {
        Ok(answer) => Upshot::Answered(answer),
        Err(_) => Upshot::Unanswered,
    };
    spend::settle(hold, upshot).await;
    if let Ok(UpstreamReply { run: Some(run), .. }) = result {
        record_run_id(&run.id);
        upstream.metrics.created(run.cost_micro_usd);
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads a body that is refused anyway, keeping none of it, for at most `limit`.
async fn discard_body(body: Body, limit: Duration) {
    use http_body_util::BodyExt;
    let mut body = body;
    let drained = tokio::time::timeout(limit, async {
        while let Some(Ok(_)) = body.frame().await {}
    });
    let _ = drained.await;
}

/// Reads at most [`MAX_BODY_BYTES`], and only while the client keeps sending.
async fn read_body(body: Body, limit: Duration) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(limit, to_bytes(body, MAX_BODY_BYTES)).await {
        Err(_) => Err(Refusal::body_too_slow().into()),
        Ok(Err(e))
            if std::error::Error::source(&e)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>()) =>
        {
            Err(Refusal::too_large().into())
        }
        // The connection ended before the body did (shorter than its Content-Length).
        Ok(Err(_)) => Err(Refusal::incomplete_body().into()),
        Ok(Ok(body)) => Ok(body),
    }
}
