//! The Akana API Platform surface: login with a session cookie and a CSRF
//! token, user settings (email and notification opt-ins), and the site's
//! business security settings. Roles are Self and Site Admin; a caller
//! without the role gets 401 and learns nothing about the target.

mod businesses;
mod login;
mod users;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::ids::UserId;
use roster_domain::model::Timestamp;
use roster_domain::Error;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::token_hash;
use crate::extract::{bearer_token, media_type_is, parse_json, read_body, Refused};
use crate::AppState;

/// Every Akana route, registered once for the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login::login))
        .routes(routes!(login::renew))
        .routes(routes!(login::logout))
        .routes(routes!(login::end_session))
        .routes(routes!(users::get_user))
        .routes(routes!(users::get_settings, users::put_settings))
        .routes(routes!(businesses::get_security, businesses::put_security))
        .routes(routes!(users::list_groups))
        .routes(routes!(users::add_group))
}

/// The media types Akana's JSON operations accept.
pub const MEDIA_TYPES: &[&str] = &[
    "application/json",
    "application/vnd.soa.v71+json",
    "application/vnd.soa.v72+json",
    "application/vnd.soa.v80+json",
    "application/vnd.soa.v81+json",
];

/// An Akana error: the status carries the meaning (Akana documents no error
/// envelope); the JSON body says what went wrong for people.
#[derive(Debug)]
pub struct AkanaError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AkanaError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AkanaError { status, code, message: message.into() }
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Login is required, or this operation is not allowed to you.",
        )
    }
}

impl From<Error> for AkanaError {
    fn from(e: Error) -> Self {
        let (status, code) = match &e {
            Error::InvalidToken | Error::AuthenticationFailed | Error::NotAMember | Error::Forbidden(_) => {
                return Self::unauthorized()
            }
            Error::UnknownUser(_) => (StatusCode::NOT_FOUND, "USER_NOT_FOUND"),
            Error::EmailTaken(_) => (StatusCode::CONFLICT, "EMAIL_IN_USE"),
            Error::InvalidEmail { .. } | Error::Invalid { .. } | Error::UnknownProfile(_) => {
                (StatusCode::BAD_REQUEST, "INVALID_REQUEST")
            }
            Error::UserExists(_)
            | Error::LastAdmin
            | Error::CustomSettingsTooLarge { .. }
            | Error::DuplicateName { .. }
            | Error::BuiltIn(_)
            | Error::ProfileInUse(_)
            | Error::UnknownGroup(_) => (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
            Error::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED"),
            Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR")
            }
        };
        Self::new(status, code, e.to_string())
    }
}

/// The body of an Akana error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AkanaErrorBody {
    code: String,
    message: String,
}

impl IntoResponse for AkanaError {
    fn into_response(self) -> Response {
        (self.status, Json(AkanaErrorBody { code: self.code.to_owned(), message: self.message })).into_response()
    }
}

pub type AkanaResult<T> = Result<T, AkanaError>;

impl From<Error> for Refused<AkanaError> {
    fn from(e: Error) -> Self {
        Refused(e.into())
    }
}

/// A JSON body in one of [`MEDIA_TYPES`] (415 otherwise).
pub struct AkanaJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AkanaJson<T> {
    type Rejection = Refused<AkanaError>;

    async fn from_request(req: Request, _: &S) -> Result<Self, Refused<AkanaError>> {
        let (parts, body) = req.into_parts();
        if !media_type_is(&parts.headers, MEDIA_TYPES) {
            return Err(AkanaError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                format!("Content-Type must be one of {}.", MEDIA_TYPES.join(", ")),
            )
            .into());
        }
        let bytes = read_body(&parts.headers, Body::new(body)).await.map_err(|e| {
            let r = e.into_response();
            AkanaError::new(r.status(), "INVALID_REQUEST", "The request body could not be read or is too large.")
        })?;
        parse_json(&bytes)
            .map(AkanaJson)
            .map_err(|m| AkanaError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", m).into())
    }
}

/// The session cookie's name for the site's tenant.
pub fn auth_cookie(tenant: &str) -> String {
    format!("AtmoAuthToken_{tenant}")
}

pub fn csrf_cookie(tenant: &str) -> String {
    format!("Csrf-Token_{tenant}")
}

pub fn csrf_header(tenant: &str) -> String {
    format!("X-Csrf-Token_{tenant}")
}

/// The value of a request cookie.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// `{userGuid}.{tenant}`.
pub fn user_fdn(user: UserId, tenant: &str) -> String {
    format!("{user}.{tenant}")
}

fn parse_user_fdn(raw: &str, tenant: &str) -> Option<UserId> {
    let (id, t) = raw.split_once('.')?;
    (t == tenant).then(|| id.parse().ok()).flatten()
}

/// The caller: a cookie session (checked against CSRF as the security
/// settings say) or a bearer token (which needs no CSRF header).
pub struct Caller {
    pub user: UserId,
    pub site_admin: bool,
    /// The session token's hash, for a cookie session.
    pub session: Option<String>,
}

impl Caller {
    /// The target of `{UserID}` if the caller is that user or a Site Admin;
    /// anyone else gets the same 401 whether or not the user exists.
    pub fn self_or_site_admin(&self, raw: &str, tenant: &str) -> AkanaResult<UserId> {
        match parse_user_fdn(raw, tenant) {
            Some(id) if id == self.user || self.site_admin => Ok(id),
            None if self.site_admin => Err(Error::UnknownUser(raw.chars().take(80).collect()).into()),
            _ => Err(AkanaError::unauthorized()),
        }
    }

    pub fn require_site_admin(&self) -> AkanaResult<()> {
        if self.site_admin {
            Ok(())
        } else {
            Err(AkanaError::unauthorized())
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Refused<AkanaError>;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused<AkanaError>> {
        let tenant = &state.config.tenant;
        let (user, session) = if let Some(token) = bearer_token(&parts.headers) {
            let user = state.store.token_user(&token_hash(token), Timestamp::now()).await?;
            (user.ok_or_else(AkanaError::unauthorized)?, None)
        } else {
            let token = cookie_value(&parts.headers, &auth_cookie(tenant)).ok_or_else(AkanaError::unauthorized)?;
            let hash = token_hash(&token);
            let session = state.store.session(&hash).await?.ok_or_else(AkanaError::unauthorized)?;
            let security = state.store.security_settings().await?;
            let reading = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            let needs_csrf = if reading { security.read_request_csrf } else { security.write_request_csrf };
            if needs_csrf {
                let sent = parts.headers.get(csrf_header(tenant).as_str()).and_then(|v| v.to_str().ok());
                let ok = sent.is_some_and(|v| token_hash(v).as_bytes().ct_eq(session.csrf_hash.as_bytes()).into());
                if !ok {
                    return Err(AkanaError::new(
                        StatusCode::UNAUTHORIZED,
                        "CSRF_TOKEN_INVALID",
                        format!("The {} header is missing or does not match the session.", csrf_header(tenant)),
                    )
                    .into());
                }
            }
            (session.user, Some(hash))
        };
        let principal = state.store.principal(user).await?.filter(|p| p.active).ok_or_else(AkanaError::unauthorized)?;
        Ok(Caller { user, site_admin: principal.site_admin, session })
    }
}
