//! `Idempotency-Key` on POST, PUT and DELETE: a retry with the same key and
//! the same request replays the first answer without applying anything
//! twice; the same key with another request gets 422. Keys are scoped to the
//! caller and the account in the path, kept 24 hours, and stored in the
//! database so every node sees them.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roster_domain::ids::UserId;
use roster_domain::model::Timestamp;
use roster_domain::Error;
use roster_store::IdempotencyStart;
use sha2::{Digest, Sha256};

use crate::akana::{auth_cookie, cookie_value};
use crate::auth::token_hash;
use crate::error::ApiError;
use crate::extract::{bearer_token, read_body};
use crate::AppState;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// Largest answer kept for replay; bigger answers are not remembered.
const STORED_BODY_LIMIT: usize = 16 * 1024 * 1024;

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::DELETE) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match key.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 255) {
        Some(k) => k.to_owned(),
        None => {
            return ApiError::http(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST_PARAMETER",
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            )
            .into_response()
        }
    };
    // Unauthenticated requests go on to be refused by the handler, unrecorded.
    let user = match caller(&state, req.headers()).await {
        Ok(Some(user)) => user,
        Ok(None) => return next.run(req).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let path = req.uri().path().to_owned();
    let account = path.split('/').skip_while(|s| *s != "accounts").nth(1).unwrap_or_default();
    let scope = format!("{user}/{account}");

    let (parts, body) = req.into_parts();
    let bytes = match read_body(&parts.headers, body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    // Without the DocuSign prefix: a retry under the other one is the same request.
    let uri = parts.uri.to_string();
    let target = crate::docusign::unprefixed(&uri);
    let mut hasher = Sha256::new();
    for piece in [parts.method.as_str().as_bytes(), b"\n", target.as_bytes(), b"\n", &bytes] {
        hasher.update(piece);
    }
    let fingerprint = const_hex::encode(hasher.finalize());

    match state.store.idempotency_begin(&scope, &key, &fingerprint).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(IdempotencyStart::Mismatch) => ApiError::http(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was already used with a different request.",
        )
        .into_response(),
        Ok(IdempotencyStart::InProgress) => ApiError::http(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_KEY_IN_PROGRESS",
            "A request with this Idempotency-Key has not finished yet.",
        )
        .into_response(),
        Ok(IdempotencyStart::Replay { status, content_type, body }) => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                resp.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            resp.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
            resp
        }
        Ok(IdempotencyStart::New) => {
            let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            record(&state, &scope, &key, resp).await
        }
    }
}

/// The user behind a bearer token or an Akana session cookie.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<UserId>, Error> {
    if let Some(token) = bearer_token(headers) {
        return state.store.token_user(&token_hash(token), Timestamp::now()).await;
    }
    match cookie_value(headers, &auth_cookie(&state.config.tenant)) {
        Some(token) => Ok(state.store.session(&token_hash(&token)).await?.map(|s| s.user)),
        None => Ok(None),
    }
}

/// Keeps the answer for replay. A server error had no effect to protect,
/// so its key is freed for a retry.
async fn record(state: &AppState, scope: &str, key: &str, resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, STORED_BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "response too large to keep for Idempotency-Key replay");
            return ApiError::http(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "internal error")
                .into_response();
        }
    };
    let kept = if parts.status.is_server_error() {
        state.store.idempotency_abandon(scope, key).await
    } else {
        let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let text = String::from_utf8_lossy(&bytes);
        state.store.idempotency_finish(scope, key, parts.status.as_u16(), content_type, &text).await
    };
    if let Err(e) = kept {
        tracing::error!(error = %e, "could not record the Idempotency-Key answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}
