//! The OpenAPI 3.1 document of every route Roster serves, generated from
//! the handlers' annotations (the router and the document are registered
//! together, so they cannot drift apart).

use axum::extract::State;
use axum::http::header;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};

use crate::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "User, permission and settings administration speaking the DocuSign eSignature v2.1 \
                       user-administration and Akana user-settings protocols. DocuSign routes are served under \
                       both /restapi/v2.1 and /v2.1."
    ),
    tags(
        (name = "DocuSign", description = "eSignature REST API v2.1: users, settings, permission profiles, groups"),
        (name = "Akana", description = "API Platform: login, user settings, business security settings"),
        (name = "OAuth", description = "Access tokens"),
        (name = "Health", description = "Liveness, readiness, this document")
    )
)]
pub struct ApiDoc;

/// Completes the generated document: operation ids unique across the two
/// DocuSign prefixes, and the security schemes (the session cookie is named
/// after the tenant).
pub fn finish(mut api: OpenApi, tenant: &str) -> String {
    for (path, item) in api.paths.paths.iter_mut() {
        let slug: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        for (method, op) in
            [("get", &mut item.get), ("put", &mut item.put), ("post", &mut item.post), ("delete", &mut item.delete)]
        {
            if let Some(op) = op {
                op.operation_id = Some(format!("{method}{slug}"));
                // OpenAPI requires a description on every response.
                for (status, response) in op.responses.responses.iter_mut() {
                    if let RefOr::T(response) = response {
                        if response.description.is_empty() {
                            let reason = status.parse::<u16>().ok().and_then(|s| StatusCode::from_u16(s).ok());
                            response.description =
                                reason.and_then(|s| s.canonical_reason()).unwrap_or("Response").to_owned();
                        }
                    }
                }
            }
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    components
        .add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(format!("AtmoAuthToken_{tenant}")))),
    );
    api.to_pretty_json().expect("the document serializes")
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "Health", responses((status = 200, body = Object, description = "This document")))]
pub async fn document(State(state): State<AppState>) -> impl IntoResponse {
    let doc = state.openapi.get().cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], doc)
}
