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

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// Every DocuSign route, registered once for the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts::get_account))
        .routes(routes!(users::list, users::create, users::update_many, users::close_many))
        .routes(routes!(users::get_one, users::update_one))
        .routes(routes!(settings::get, settings::put))
        .routes(routes!(profile::get, profile::put))
        .routes(routes!(custom_settings::get, custom_settings::put, custom_settings::delete))
        .routes(routes!(profiles::list, profiles::create))
        .routes(routes!(profiles::get, profiles::update, profiles::delete))
        .routes(routes!(groups::list, groups::create, groups::update, groups::delete))
        .routes(routes!(groups::members, groups::add_members, groups::remove_members))
}
