//! The DocuSign eSignature REST API v2.1 surface (user administration),
//! served under both `/restapi/v2.1` and `/v2.1`.

mod accounts;
mod custom_settings;
mod groups;
mod profile;
mod profiles;
mod settings;
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
        .route("/accounts/{accountId}/users/{userId}/settings", get(settings::get).put(settings::put))
        .route("/accounts/{accountId}/permission_profiles", get(profiles::list).post(profiles::create))
        .route(
            "/accounts/{accountId}/permission_profiles/{permissionProfileId}",
            get(profiles::get).put(profiles::update).delete(profiles::delete),
        )
        .route(
            "/accounts/{accountId}/groups",
            get(groups::list).post(groups::create).put(groups::update).delete(groups::delete),
        )
        .route(
            "/accounts/{accountId}/groups/{groupId}/users",
            get(groups::members).put(groups::add_members).delete(groups::remove_members),
        )
        .route("/accounts/{accountId}/users/{userId}/profile", get(profile::get).put(profile::put))
        .route(
            "/accounts/{accountId}/users/{userId}/custom_settings",
            get(custom_settings::get).put(custom_settings::put).delete(custom_settings::delete),
        )
}
