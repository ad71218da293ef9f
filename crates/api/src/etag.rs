//! Conditional requests: `ETag` on reads, `If-None-Match` (304) and
//! `If-Match` (412 when the resource changed). Tags are opaque version
//! tokens from the domain; comparison is strong, so weak tags never match.

use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The `ETag` header value of a version tag.
pub fn etag(tag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{tag}\"")).expect("version tags are plain ASCII")
}

fn tags(value: &str) -> impl Iterator<Item = Option<&str>> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| {
        if t == "*" {
            Some("*")
        } else {
            t.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        }
    })
}

/// The tags an `If-Match` header allows; `None` when absent or `*` (any
/// current version). An unparsable or weak tag matches nothing.
pub fn if_match(headers: &HeaderMap) -> Option<Vec<String>> {
    let value = headers.get(IF_MATCH)?.to_str().unwrap_or("\"\"");
    let mut allowed = Vec::new();
    for tag in tags(value) {
        match tag {
            Some("*") => return None,
            Some(t) => allowed.push(t.to_owned()),
            None => {}
        }
    }
    Some(allowed)
}

/// A 304 when `If-None-Match` names the current tag.
pub fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    let value = headers.get(IF_NONE_MATCH)?.to_str().ok()?;
    let hit =
        tags(value).any(|t| t == Some("*") || t == Some(tag) || t.is_some_and(|t| t.strip_prefix("W/") == Some(tag)));
    hit.then(|| (StatusCode::NOT_MODIFIED, [(ETAG, etag(tag))]).into_response())
}

/// A JSON response carrying its `ETag`.
pub fn tagged(tag: &str, body: impl IntoResponse) -> Response {
    ([(ETAG, etag(tag))], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: axum::http::HeaderName, v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn if_match_lists() {
        assert_eq!(if_match(&HeaderMap::new()), None);
        assert_eq!(if_match(&headers(IF_MATCH, "*")), None);
        assert_eq!(
            if_match(&headers(IF_MATCH, "\"1.2\", \"3.4\"")),
            Some(vec!["1.2".into(), "3.4".into()])
        );
        assert_eq!(if_match(&headers(IF_MATCH, "W/\"1.2\"")), Some(vec![]));
        assert_eq!(if_match(&headers(IF_MATCH, "garbage")), Some(vec![]));
    }

    #[test]
    fn if_none_match() {
        assert!(not_modified(&headers(IF_NONE_MATCH, "\"1.2\""), "1.2").is_some());
        assert!(not_modified(&headers(IF_NONE_MATCH, "W/\"1.2\""), "1.2").is_some());
        assert!(not_modified(&headers(IF_NONE_MATCH, "*"), "1.2").is_some());
        assert!(not_modified(&headers(IF_NONE_MATCH, "\"1.3\""), "1.2").is_none());
        assert!(not_modified(&HeaderMap::new(), "1.2").is_none());
    }
}
