//! DocuSign-style API rate limits per account: an hourly limit (the window
//! resets at the top of each hour) and a burst limit per 30 seconds. Off by
//! default; when on, every DocuSign response carries the `X-RateLimit-*` and
//! `X-BurstLimit-*` headers, and a call over a limit gets 429.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use roster_domain::ids::{AccountId, AccountRef};
use roster_domain::model::Timestamp;
use roster_domain::Error;

use crate::auth::token_hash;
use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::AppState;

/// Limits per account; `None` turns a limit off. Windows are aligned to the
/// epoch, so the hourly one resets at the top of each hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub hourly: Option<u32>,
    pub burst: Option<u32>,
    pub hour_seconds: i64,
    pub burst_seconds: i64,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { hourly: None, burst: None, hour_seconds: 3600, burst_seconds: 30 }
    }
}

impl RateLimits {
    /// DocuSign's own values: 3,000 calls an hour, 500 per 30 seconds.
    pub const DOCUSIGN: RateLimits =
        RateLimits { hourly: Some(3000), burst: Some(500), hour_seconds: 3600, burst_seconds: 30 };

    pub fn enabled(&self) -> bool {
        self.hourly.is_some() || self.burst.is_some()
    }
}

fn header(name: &'static str, value: impl ToString) -> (HeaderName, HeaderValue) {
    (HeaderName::from_static(name), HeaderValue::from_str(&value.to_string()).expect("numbers are ASCII"))
}

pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = state.config.rate_limits;
    // Only a member's calls count against its account: anyone else is refused
    // by the handler anyway and must not spend the account's quota.
    let token = bearer_token(req.headers()).map(str::to_owned);
    let path = req.uri().path().to_owned();
    let account = match member_account(&state, token, &path).await {
        Ok(Some(account)) => account,
        Ok(None) => return next.run(req).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let hour = now - now % limits.hour_seconds;
    let burst = now - now % limits.burst_seconds;
    let mut headers = Vec::new();
    let mut exceeded = None;
    // Both counts are taken (and the call counted) before either decides.
    for (limit, window, length, name, code) in [
        (limits.hourly, hour, limits.hour_seconds, "hour", "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"),
        (limits.burst, burst, limits.burst_seconds, "burst", "BURST_APIINVOCATION_LIMIT_EXCEEDED"),
    ] {
        let Some(limit) = limit else { continue };
        let calls = match state.store.count_call(&format!("{name}:{account}"), window, window + length).await {
            Ok(n) => n,
            Err(e) => return ApiError::from(e).into_response(),
        };
        let remaining = (i64::from(limit) - calls).max(0);
        if name == "hour" {
            headers.push(header("x-ratelimit-limit", limit));
            headers.push(header("x-ratelimit-remaining", remaining));
            headers.push(header("x-ratelimit-reset", hour + limits.hour_seconds));
        } else {
            headers.push(header("x-burstlimit-limit", limit));
            headers.push(header("x-burstlimit-remaining", remaining));
        }
        if calls > i64::from(limit) && exceeded.is_none() {
            exceeded = Some((name, code));
        }
    }
    let mut resp = match exceeded {
        Some((name, code)) => {
            let message = if name == "hour" {
                "The maximum number of hourly API invocations has been exceeded."
            } else {
                "The maximum number of API invocations in the burst window has been exceeded."
            };
            ApiError::http(StatusCode::TOO_MANY_REQUESTS, code, message).into_response()
        }
        None => next.run(req).await,
    };
    resp.headers_mut().extend(headers);
    resp
}

/// The account in the path, if the bearer of the request is an active member of it.
async fn member_account(state: &AppState, token: Option<String>, path: &str) -> Result<Option<AccountId>, Error> {
    let Some(token) = token else { return Ok(None) };
    let Some(user) = state.store.token_user(&token_hash(&token), Timestamp::now()).await? else { return Ok(None) };
    let raw = path.split('/').skip_while(|s| *s != "accounts").nth(1).unwrap_or_default();
    let Ok(account) = raw.parse::<AccountRef>() else { return Ok(None) };
    match state.store.actor(user, account).await {
        Ok((account, _)) => Ok(Some(account.id)),
        Err(Error::NotAMember) => Ok(None),
        Err(e) => Err(e),
    }
}
