//! Roster's HTTP surfaces. Each wire protocol is a module with its own
//! wire types and error mapping; the shared middleware lives here.

pub mod akana;
pub mod auth;
pub mod cache;
pub mod docusign;
pub mod error;
pub mod etag;
pub mod extract;
mod health;
mod idempotency;
mod oauth;
mod openapi;
pub mod rate_limit;

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_store::Store;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cache::Written;
use crate::error::ApiError;
use crate::extract::Refused;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Lifetime of access tokens issued by `/oauth/token`.
    pub token_ttl_seconds: i64,
    /// The server's public base URL for `userinfo`'s `base_uri`; by default
    /// taken from the request's `Host`.
    pub public_url: Option<String>,
    /// Longest time one request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Longest time a client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// The site's tenant id (Akana's fedmemberid): cookie names, UserIDs.
    pub tenant: String,
    /// Lifetime of an Akana cookie session.
    pub session_ttl_seconds: i64,
    /// Per-account API call limits on the DocuSign routes (off by default).
    pub rate_limits: rate_limit::RateLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token_ttl_seconds: 8 * 3600,
            public_url: None,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            tenant: "roster".into(),
            session_ttl_seconds: 30 * 60,
            rate_limits: rate_limit::RateLimits::default(),
        }
    }
}

/// What every handler shares: one `Arc`, since every request clones it a
/// few times (extractors, middleware).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub config: ApiConfig,
    /// The OpenAPI document, built with the router.
    pub openapi: OnceLock<String>,
    pub cache: Arc<cache::ReadCache>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, config: ApiConfig) -> Self {
        let cache = cache::ReadCache::new(&store);
        AppState(Arc::new(Shared { store, config, openapi: OnceLock::new(), cache }))
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A random UUID for each request that comes without an id. (tower-http's
/// `MakeRequestUuid` formats it through `Display` and parses it back, about
/// 1,500 instructions of every request.)
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let mut text = uuid::Uuid::encode_buffer();
        let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        Some(RequestId::new(axum::http::HeaderValue::from_str(id).expect("a UUID is ASCII")))
    }
}

/// The whole HTTP application: the router inside the middleware every
/// request goes through. That middleware wraps the router once, as one
/// service, not each route (`Router::layer`), which boxed each request's
/// future again at every layer.
pub fn router(
    state: AppState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + Sync + 'static {
    let timeout = state.config.request_timeout;
    let idempotent = axum::middleware::from_fn_with_state(state.clone(), idempotency::guard);
    let mut docusign = docusign::routes().route_layer(idempotent.clone());
    // Off by default, and then not a layer every request goes through.
    if state.config.rate_limits.enabled() {
        docusign = docusign.route_layer(axum::middleware::from_fn_with_state(state.clone(), rate_limit::limit));
    }
    let (app, api) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::revoke))
        .routes(routes!(oauth::userinfo))
        .routes(routes!(openapi::document))
        .merge(docusign)
        .merge(akana::routes().route_layer(idempotent))
        .split_for_parts();
    let _ = state.openapi.set(openapi::finish(api, &state.config.tenant));
    let invalidate_caches = axum::middleware::from_fn_with_state(state.clone(), invalidate_caches);
    let app = app.fallback(not_found).method_not_allowed_fallback(method_not_allowed).with_state(state);
    // The first layer is the outermost.
    ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(SetRequestIdLayer::new(REQUEST_ID, NewRequestId))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(invalidate_caches)
        .service(app)
}

/// When a request that may have written ends, even cut short by a timeout,
/// the read caches, this node's and the other nodes', forget what it may
/// have changed. The other nodes are told before the answer leaves.
async fn invalidate_caches(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = !req.method().is_safe();
    let mut write = writes.then(|| WriteEnd { cache: state.cache.clone(), scope: Written::Anything, published: false });
    let response = next.run(req).await;
    if let Some(write) = &mut write {
        if let Some(scope) = response.extensions().get::<Written>() {
            write.scope = *scope;
        }
        // Set first: once started, publishing finishes even if this is dropped.
        write.published = true;
        if let Err(e) = write.cache.publish(write.scope).await {
            // The write stands; answering it as failed would invite a retry.
            tracing::error!(error = %e, "cannot tell the other nodes of a write");
        }
    }
    response
}

/// Invalidates when dropped, so a request cut short (a timeout drops it
/// mid-write) invalidates too, as having written anything.
struct WriteEnd {
    cache: Arc<cache::ReadCache>,
    scope: Written,
    published: bool,
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        self.cache.invalidate(self.scope);
        if !self.published {
            self.cache.publish_in_background(self.scope);
        }
    }
}

async fn not_found(req: Request) -> Refused {
    Refused(ApiError::http(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        format!("No resource at {}.", req.uri().path()),
    ))
}

async fn method_not_allowed(req: Request) -> Refused {
    Refused(ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{} is not allowed on {}.", req.method(), req.uri().path()),
    ))
}
