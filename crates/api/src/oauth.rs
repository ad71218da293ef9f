//! OAuth 2.0: the password grant (RFC 6749 §4.3), revocation (RFC 7009) and
//! DocuSign's `userinfo`.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::Error;
use serde::Serialize;
use serde_json::json;

use crate::auth::{authenticate, issue_token, token_hash};
use crate::docusign::wire::{ds_date, flag};
use crate::error::{ApiError, ApiResult, ErrorDetails};
use crate::extract::{bearer_token, media_type_is, read_body, Caller};
use crate::AppState;

/// A form-encoded body (what RFC 6749 requires of token requests).
async fn form(req: Request) -> ApiResult<(HeaderMap, HashMap<String, String>)> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts.headers, body).await?;
    if !bytes.is_empty() && !media_type_is(&parts.headers, &["application/x-www-form-urlencoded"]) {
        return Err(ApiError::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "INVALID_CONTENT_TYPE",
            "OAuth requests must be sent as application/x-www-form-urlencoded.",
        ));
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&bytes).map_err(|e| ApiError::bad_body(format!("Malformed form body: {e}")))?;
    Ok((parts.headers, pairs.into_iter().collect()))
}

/// An OAuth error carrying both RFC 6749's fields and DocuSign's.
fn oauth_error(status: StatusCode, error: &str, code: &'static str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description, "errorCode": code, "message": description});
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// The password grant's form fields (RFC 6749 §4.3).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct TokenRequest {
    grant_type: String,
    username: String,
    password: String,
}

/// A token to revoke (RFC 7009); the bearer token itself when absent.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct RevokeRequest {
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

/// `POST /oauth/token` with `grant_type=password`, `username`, `password`.
#[utoipa::path(post, path = "/oauth/token", tag = "OAuth", request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"), responses((status = 200, body = TokenResponse), (status = 400, body = Object), (status = 401, body = Object), (status = 413, body = ErrorDetails), (status = 415, body = ErrorDetails), (status = 503, body = ErrorDetails)))]
pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let (_, params) = match form(req).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    match params.get("grant_type").map(String::as_str) {
        Some("password") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "INVALID_GRANT_TYPE",
                "Only grant_type=password is supported.",
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "INVALID_REQUEST_PARAMETER",
                "grant_type is required.",
            )
        }
    }
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "INVALID_REQUEST_PARAMETER",
            "username and password are required.",
        );
    };
    match password_grant(&state, username, password).await {
        Ok(access_token) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(TokenResponse { access_token, token_type: "Bearer", expires_in: state.config.token_ttl_seconds }),
        )
            .into_response(),
        Err(Error::AuthenticationFailed) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "USER_AUTHENTICATION_FAILED",
            "One or both of Username and Password are invalid.",
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn password_grant(state: &AppState, username: &str, password: &str) -> Result<String, Error> {
    let user = authenticate(&state.store, username, password).await?;
    issue_token(&state.store, user, state.config.token_ttl_seconds).await
}

/// `POST /oauth/revoke` with `token=...` (or the bearer token itself).
/// Revoking an unknown token succeeds, as RFC 7009 says.
#[utoipa::path(post, path = "/oauth/revoke", tag = "OAuth", request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "Revoked (or unknown)"), (status = 400, body = Object), (status = 401, body = Object), (status = 413, body = ErrorDetails), (status = 415, body = ErrorDetails), (status = 503, body = ErrorDetails)))]
pub async fn revoke(State(state): State<AppState>, req: Request) -> ApiResult<StatusCode> {
    let (headers, params) = form(req).await?;
    let token = params.get("token").map(String::as_str).or_else(|| bearer_token(&headers));
    let token = token.ok_or_else(|| Error::invalid("token", "is required"))?;
    state.store.revoke_token(&token_hash(token)).await?;
    Ok(StatusCode::OK)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OAuthUserInfo)]
struct UserInfo {
    sub: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<String>,
    created: String,
    email: String,
    accounts: Vec<UserInfoAccount>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct UserInfoAccount {
    account_id: String,
    is_default: String,
    account_name: String,
    base_uri: String,
}

/// `GET /oauth/userinfo`: who the token belongs to and where its accounts live.
#[utoipa::path(get, path = "/oauth/userinfo", tag = "OAuth", responses((status = 200, body = UserInfo), (status = 401, body = ErrorDetails), (status = 503, body = ErrorDetails)), security(("bearer" = [])))]
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap, caller: Caller) -> ApiResult<Response> {
    let user = state.store.identity(caller.user_id).await?;
    let accounts = state.store.accounts_of(caller.user_id).await?;
    let base_uri = state.config.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        format!("http://{host}")
    });
    let info = UserInfo {
        sub: user.id.to_string(),
        name: user.user_name.clone(),
        given_name: user.names.first_name.clone(),
        family_name: user.names.last_name.clone(),
        created: ds_date(user.created_at),
        email: user.email.clone(),
        accounts: accounts
            .iter()
            .enumerate()
            .map(|(i, a)| UserInfoAccount {
                account_id: a.guid.to_string(),
                is_default: flag(i == 0),
                account_name: a.name.clone(),
                base_uri: base_uri.clone(),
            })
            .collect(),
    };
    Ok(Json(info).into_response())
}
