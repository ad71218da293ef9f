//! Conditional requests: `ETag` on reads, `If-None-Match` (304) and
//! `If-Match` (412 when the resource changed). Tags are opaque version
//! tokens from the domain; comparison is strong, so weak tags never match.

use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The `ETag` header value of a version tag.
pub fn etag(tag: &str) -> HeaderValue {
    // Not `format!`, whose machinery cost more than the rest of this on every tagged answer.
    HeaderValue::try_from(["\"", tag, "\""].concat()).expect("version tags are plain ASCII")
}

#[derive(Debug, PartialEq, Eq)]
enum Tag<'a> {
    Any,
    Strong(&'a str),
    Weak(&'a str),
    Invalid,
}

fn unquote(t: &str) -> Option<&str> {
    t.strip_prefix('"')?.strip_suffix('"')
}

fn tags(value: &str) -> impl Iterator<Item = Tag<'_>> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| match (t, t.strip_prefix("W/")) {
        ("*", _) => Tag::Any,
        (_, Some(weak)) => unquote(weak).map_or(Tag::Invalid, Tag::Weak),
        (_, None) => unquote(t).map_or(Tag::Invalid, Tag::Strong),
    })
}

/// The tags an `If-Match` header allows; `None` when absent or `*` (any
/// current version). Comparison is strong: weak or unparsable tags match nothing.
pub fn if_match(headers: &HeaderMap) -> Option<Vec<String>> {
    let value = headers.get(IF_MATCH)?.to_str().unwrap_or("\"\"");
    let mut allowed = Vec::new();
    for tag in tags(value) {
        match tag {
            Tag::Any => return None,
            Tag::Strong(t) => allowed.push(t.to_owned()),
            Tag::Weak(_) | Tag::Invalid => {}
        }
    }
    Some(allowed)
}

/// A 304 when `If-None-Match` names the current tag (weak comparison, as RFC 9110 says).
pub fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    let value = headers.get(IF_NONE_MATCH)?.to_str().ok()?;
    let hit = tags(value).any(|t| matches!(t, Tag::Any) || t == Tag::Strong(tag) || t == Tag::Weak(tag));
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
        assert_eq!(if_match(&headers(IF_MATCH, "\"1.2\", \"3.4\"")), Some(vec!["1.2".into(), "3.4".into()]));
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
