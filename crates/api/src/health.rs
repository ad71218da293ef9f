//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

/// 200 whenever the process serves HTTP; never touches the database.
#[utoipa::path(get, path = "/healthz", tag = "Health", responses((status = 200, body = Object, description = "The process serves HTTP")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 only while the database answers.
#[utoipa::path(get, path = "/readyz", tag = "Health", responses((status = 200, body = Object, description = "The database answers"), (status = 503, body = Object, description = "The database does not answer")))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "message": e.to_string()}))),
    }
}
