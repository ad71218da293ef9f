//! `POST /api/login`, `/api/login/renewToken`, `/api/login/logout` and
//! `GET /api/login/endsession`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use roster_domain::ids::UserId;
use roster_domain::model::Timestamp;
use roster_domain::site::{self, SecuritySettings};
use serde::{Deserialize, Serialize};

use super::{auth_cookie, csrf_cookie, user_fdn, AkanaError, AkanaErrorBody, AkanaJson, AkanaResult, Caller};
use crate::auth::{authenticate, new_token, token_hash};
use crate::error::ErrorDetails;
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    email: String,
    password: String,
}

/// Akana's `LoginResponse` (the token itself travels only in the cookie, as since 8.0).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    user_name: String,
    #[serde(rename = "userFDN")]
    user_fdn: String,
    #[serde(rename = "loginDomainID")]
    login_domain_id: String,
    #[serde(rename = "Status")]
    status: &'static str,
    pending_notifications: u32,
    pending_tasks: Vec<String>,
}

/// `POST /api/login` with `{"email", "password"}`: a session cookie and,
/// when CSRF checks are on, a CSRF cookie. Bad credentials: 401, the same
/// whether or not the email exists.
#[utoipa::path(post, path = "/api/login", tag = "Akana", request_body = Credentials, responses((status = 200, body = LoginResponse), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)))]
pub async fn login(State(state): State<AppState>, AkanaJson(c): AkanaJson<Credentials>) -> AkanaResult<Response> {
    let user = authenticate(&state.store, &c.email, &c.password).await?;
    start_session(&state, user).await
}

/// `POST /api/login/renewToken`: a new session (and cookies) for a live one.
#[utoipa::path(post, path = "/api/login/renewToken", tag = "Akana", responses((status = 200, body = LoginResponse), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn renew(State(state): State<AppState>, caller: Caller) -> AkanaResult<Response> {
    let Some(old) = &caller.session else {
        return Err(AkanaError::new(StatusCode::BAD_REQUEST, "NO_SESSION", "renewToken renews a cookie session."));
    };
    state.store.end_session(old).await?;
    start_session(&state, caller.user).await
}

/// `POST /api/login/logout`: ends the session and expires its cookies.
#[utoipa::path(post, path = "/api/login/logout", tag = "Akana", responses((status = 200, description = "Logged out"), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> AkanaResult<Response> {
    end(&state, &caller).await
}

/// `GET /api/login/endsession`: the same, as Akana's newer operation.
#[utoipa::path(get, path = "/api/login/endsession", tag = "Akana", responses((status = 200, description = "Session ended"), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn end_session(State(state): State<AppState>, caller: Caller) -> AkanaResult<Response> {
    end(&state, &caller).await
}

async fn end(state: &AppState, caller: &Caller) -> AkanaResult<Response> {
    if let Some(session) = &caller.session {
        state.store.end_session(session).await?;
    }
    let tenant = &state.config.tenant;
    let expired = |name: String| Cookie::build((name, "")).path("/").max_age(Duration::ZERO).build().to_string();
    let mut resp = StatusCode::OK.into_response();
    for c in [expired(auth_cookie(tenant)), expired(csrf_cookie(tenant))] {
        resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).expect("cookie text is ASCII"));
    }
    Ok(resp)
}

async fn start_session(state: &AppState, user: UserId) -> AkanaResult<Response> {
    let security = state.store.security_settings().await?;
    let ttl = state.config.session_ttl_seconds;
    let (token, csrf) = (new_token(), new_token());
    state
        .store
        .create_session(user, &token_hash(&token), &token_hash(&csrf), Timestamp::now().plus_seconds(ttl))
        .await?;
    let identity = state.store.identity(user).await?;
    let tenant = &state.config.tenant;
    let body = LoginResponse {
        user_name: identity.user_name.clone(),
        user_fdn: user_fdn(user, tenant),
        login_domain_id: format!("siteusers.{tenant}"),
        status: "Success",
        pending_notifications: 0,
        pending_tasks: Vec::new(),
    };
    let mut resp = Json(body).into_response();
    let cookies = [
        Some(session_cookie(auth_cookie(tenant), token, true, ttl, &security)),
        // Akana sends the CSRF cookie only while a CSRF check is on.
        security.csrf_enabled().then(|| session_cookie(csrf_cookie(tenant), csrf, false, ttl, &security)),
    ];
    for c in cookies.into_iter().flatten() {
        resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).expect("cookie text is ASCII"));
    }
    Ok(resp)
}

/// A session cookie: HttpOnly for the token (scripts must read the CSRF
/// one), `SameSite` from the security settings, Secure when `SameSite=None`
/// (browsers require it).
fn session_cookie(name: String, value: String, http_only: bool, ttl: i64, security: &SecuritySettings) -> String {
    let same_site = match security.auth_token_cookie_same_site {
        site::SameSite::Strict => SameSite::Strict,
        site::SameSite::Lax => SameSite::Lax,
        site::SameSite::None => SameSite::None,
    };
    Cookie::build((name, value))
        .path("/")
        .http_only(http_only)
        .same_site(same_site)
        .secure(same_site == SameSite::None)
        .max_age(Duration::seconds(ttl))
        .build()
        .to_string()
}
