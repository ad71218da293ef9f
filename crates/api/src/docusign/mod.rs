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

use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::AppState;

/// The prefixes the DocuSign routes are served under: the real service's,
/// and the shorter one some clients use.
const PREFIXES: [&str; 2] = ["/restapi/v2.1", "/v2.1"];

/// Every DocuSign route under each of [`PREFIXES`], registered once for the
/// router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    PREFIXES.into_iter().fold(OpenApiRouter::new(), |all, prefix| all.merge(routes_under(prefix)))
}

/// The prefix is part of each route's path rather than a `nest`: a nested
/// router rebuilds every request's URI without its prefix, about 4,000
/// instructions a request (a fifteenth of a GET).
fn routes_under(prefix: &str) -> OpenApiRouter<AppState> {
    let under = |(schemas, mut paths, handlers): UtoipaMethodRouter<AppState>| {
        let unprefixed = std::mem::take(&mut paths.paths);
        paths.paths = unprefixed.into_iter().map(|(path, item)| (format!("{prefix}{path}"), item)).collect();
        (schemas, paths, handlers)
    };
    OpenApiRouter::new()
        .routes(under(routes!(accounts::get_account)))
        .routes(under(routes!(users::list, users::create, users::update_many, users::close_many)))
        .routes(under(routes!(users::get_one, users::update_one)))
        .routes(under(routes!(settings::get, settings::put)))
        .routes(under(routes!(profile::get, profile::put)))
        .routes(under(routes!(custom_settings::get, custom_settings::put, custom_settings::delete)))
        .routes(under(routes!(profiles::list, profiles::create)))
        .routes(under(routes!(profiles::get, profiles::update, profiles::delete)))
        .routes(under(routes!(groups::list, groups::create, groups::update, groups::delete)))
        .routes(under(routes!(groups::members, groups::add_members, groups::remove_members)))
}

/// `path` without the DocuSign prefix it starts with, if any.
pub fn unprefixed(path: &str) -> &str {
    PREFIXES.iter().find_map(|prefix| path.strip_prefix(prefix)).unwrap_or(path)
}
