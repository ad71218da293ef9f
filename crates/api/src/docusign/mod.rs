//! The DocuSign eSignature REST API v2.1 surface (user administration),
//! served under both `/restapi/v2.1` and `/v2.1`.

mod accounts;
mod users;
pub mod wire;

use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts/{accountId}", get(accounts::get_account))
        .route(
            "/accounts/{accountId}/users",
            get(users::list).post(users::create).put(users::update_many).delete(users::close_many),
        )
        .route("/accounts/{accountId}/users/{userId}", get(users::get_one).put(users::update_one))
}
