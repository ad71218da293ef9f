//! Request extractors: a bounded JSON body, query parameters, the caller
//! behind a bearer token, and the caller as a member of the path's account.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use roster_domain::ids::{AccountRef, UserId};
use roster_domain::model::{Account, Timestamp};
use roster_domain::policy::Actor;
use roster_domain::Error;
use serde::de::DeserializeOwned;

use crate::auth::token_hash;
use crate::cache::{written, RequestView, Written};
use crate::error::ApiError;
use crate::AppState;

/// Largest request body Roster reads.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The rejection of Roster's extractors, in either surface's error shape: a
/// request refused before its handler ran, so it wrote nothing and leaves
/// the read caches as they are.
#[derive(Debug)]
pub struct Refused<E = ApiError>(pub E);

impl<E> From<E> for Refused<E> {
    fn from(e: E) -> Self {
        Refused(e)
    }
}

impl From<Error> for Refused {
    fn from(e: Error) -> Self {
        Refused(e.into())
    }
}

impl<E: IntoResponse> IntoResponse for Refused<E> {
    fn into_response(self) -> Response {
        written(Written::Nothing, self.0.into_response())
    }
}

/// Reads at most [`BODY_LIMIT`] bytes; a larger body is refused with 413
/// as soon as it is known to be larger, without buffering the rest.
pub async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            format!("The request body exceeds the limit of {BODY_LIMIT} bytes."),
        )
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(ApiError::bad_body(format!("The request body could not be read: {e}"))),
    }
}

/// Whether the content type's media type is one of `accepted`.
pub fn media_type_is(headers: &HeaderMap, accepted: &[&str]) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or_default().trim();
    accepted.iter().any(|a| essence.eq_ignore_ascii_case(a))
}

/// A JSON body, parsed into `T`. An empty body counts as `{}` (clients send
/// DELETEs without one); a non-empty one must say `application/json`.
/// Errors name the offending field (`newUsers[2].email`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Refused;

    async fn from_request(req: Request, _: &S) -> Result<Self, Refused> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(&parts.headers, body).await?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        if bytes != b"{}" && !media_type_is(&parts.headers, &["application/json", "text/json"]) {
            return Err(ApiError::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "INVALID_CONTENT_TYPE",
                "The request body must be JSON, sent with 'Content-Type: application/json'.",
            )
            .into());
        }
        parse_json(bytes).map(JsonBody).map_err(|e| ApiError::bad_body(e).into())
    }
}

/// Parses JSON into `T`; the error names the offending field's path. A
/// document that repeats a key anywhere is refused: which of the two values
/// a client meant is anyone's guess.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    if let Err(e) = serde_path_to_error::deserialize::<_, UniqueKeys>(&mut de) {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at '{path}'") };
        return Err(format!("The request body is missing or improperly formatted{at}: {}.", e.into_inner()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." { String::new() } else { format!(" at '{path}'") };
        format!("The request body is missing or improperly formatted{at}: {inner}.")
    })?;
    de.end().map_err(|e| format!("The request body has trailing data: {e}."))?;
    Ok(value)
}

/// The query string as name/value pairs (the last one wins).
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refused> {
        let q = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).map_err(|e| {
            ApiError::http(StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER", format!("Malformed query string: {e}"))
        })?;
        Ok(QueryParams(pairs.into_iter().collect()))
    }
}

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The given parameters that are present, in order (what paging links repeat).
    pub fn present<'k>(&self, names: &[&'k str]) -> Vec<(&'k str, String)> {
        names.iter().filter_map(|k| self.get(k).map(|v| (*k, v.to_owned()))).collect()
    }
}

/// The user behind the request's access token.
pub struct Caller {
    pub user_id: UserId,
    pub token_hash: String,
    /// The request's view of the read caches.
    pub view: RequestView,
}

/// The raw token of an `Authorization` header: `Bearer <token>`, or the bare
/// token (what the Python SDK's `set_access_token` sends).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    (!token.is_empty() && token.len() <= 512).then_some(token)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let token = bearer_token(&parts.headers).ok_or(Error::InvalidToken)?;
        let hash = token_hash(token);
        let view = RequestView::default();
        let load = async { state.store.token(&hash).await?.ok_or(Error::InvalidToken) };
        let (user_id, expires) = state.cache.token(&view, &hash, load).await?;
        if expires <= Timestamp::now() {
            return Err(Error::InvalidToken.into());
        }
        Ok(Caller { user_id, token_hash: hash, view })
    }
}

/// The caller acting inside the account named by the `accountId` path
/// parameter. Anything but an active membership is `NotAMember`, so a caller
/// learns nothing about accounts it does not belong to.
pub struct InAccount {
    pub account: Account,
    pub actor: Actor,
    /// The request's view of the read caches.
    pub view: RequestView,
}

impl FromRequestParts<AppState> for InAccount {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let account_ref: AccountRef = PathParams::from_request_parts(parts, state).await?.get("accountId").parse()?;
        let key = (caller.user_id, account_ref);
        let load = state.store.actor(caller.user_id, account_ref);
        let (account, actor) = state.cache.actor(&caller.view, key, load).await?;
        Ok(InAccount { account, actor, view: caller.view })
    }
}

/// The path's parameters by name, with a DocuSign-style rejection.
pub struct PathParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refused> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::http(StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER", e.body_text()))?;
        Ok(PathParams(raw.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()))
    }
}

impl PathParams {
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }
}

/// Any JSON value, checked for keys that appear twice in one object.
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("the key '{key}' appears twice")));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}
