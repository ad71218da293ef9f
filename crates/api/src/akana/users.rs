//! `GET /api/users/{UserID}`, `GET|PUT /api/users/{UserID}/settings`, and
//! Roster's catalog of notification groups.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::model::Identity;
use roster_domain::site::{notification_group_name, opted_groups};
use roster_domain::validate::Email;
use roster_domain::Error;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{user_fdn, AkanaError, AkanaErrorBody, AkanaJson, AkanaResult, Caller};
use crate::error::ErrorDetails;
use crate::extract::PathParams;
use crate::AppState;

/// `GET /api/users/{UserID}`: the user's overview, for Self or Site Admin.
#[utoipa::path(get, path = "/api/users/{UserID}", tag = "Akana", params(("UserID" = String, Path, description = "{userGuid}.{tenant}")), responses((status = 200, body = Object), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_user(State(state): State<AppState>, caller: Caller, path: PathParams) -> AkanaResult<Json<Value>> {
    let tenant = &state.config.tenant;
    let target = caller.self_or_site_admin(path.get("UserID"), tenant)?;
    let u = state.store.identity(target).await?;
    let site_admin = state.store.principal(target).await?.is_some_and(|p| p.site_admin);
    Ok(Json(json!({
        "UserID": user_fdn(u.id, tenant),
        "UserName": u.user_name,
        "FirstName": u.names.first_name.clone().unwrap_or_default(),
        "LastName": u.names.last_name.clone().unwrap_or_default(),
        "Email": u.email,
        "Title": u.job_title.clone().unwrap_or_default(),
        "Visibility": "0",
        "State": "registered",
        "Domain": "Local Domain",
        "Disabled": false,
        "HasPicture": false,
        "SiteAdmin": site_admin,
    })))
}

/// The groups a user receives: its own choice, or the whole catalog by default.
fn opted(identity: &Identity, catalog: &[String]) -> Vec<String> {
    match &identity.opted_notifications {
        Some(chosen) => catalog.iter().filter(|g| chosen.contains(g)).cloned().collect(),
        None => catalog.to_vec(),
    }
}

/// `GET /api/users/{UserID}/settings`: `{"UserID", "Email", "OptedNotification"}`.
#[utoipa::path(get, path = "/api/users/{UserID}/settings", tag = "Akana", params(("UserID" = String, Path, description = "{userGuid}.{tenant}")), responses((status = 200, body = AccountSettings), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_settings(State(state): State<AppState>, caller: Caller, path: PathParams) -> AkanaResult<Json<Value>> {
    let tenant = &state.config.tenant;
    let target = caller.self_or_site_admin(path.get("UserID"), tenant)?;
    let identity = state.store.identity(target).await?;
    let catalog = state.store.notification_groups().await?;
    Ok(Json(json!({
        "UserID": user_fdn(target, tenant),
        "Email": identity.email,
        "OptedNotification": opted(&identity, &catalog),
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AccountSettings {
    #[serde(rename = "UserID")]
    user_id: Option<String>,
    #[serde(rename = "Email")]
    email: Option<String>,
    #[serde(rename = "OptedNotification")]
    opted_notification: Option<Vec<String>>,
}

/// `PUT /api/users/{UserID}/settings`: replaces the opted-in groups (a group
/// left out is opted out) and may change the email as the security settings
/// allow. Everything is checked first; a refused part changes nothing.
/// Answers 200 `text/plain` with the UserID.
#[utoipa::path(put, path = "/api/users/{UserID}/settings", tag = "Akana", params(("UserID" = String, Path, description = "{userGuid}.{tenant}")), request_body = AccountSettings, responses((status = 200, body = String, content_type = "text/plain", description = "The UserID"), (status = 403, body = AkanaErrorBody), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    AkanaJson(body): AkanaJson<AccountSettings>,
) -> AkanaResult<Response> {
    let tenant = &state.config.tenant;
    let raw_id = path.get("UserID");
    let target = caller.self_or_site_admin(raw_id, tenant)?;
    if body.user_id.as_deref().is_some_and(|id| id != raw_id) {
        return Err(Error::invalid("UserID", "differs from the UserID in the path").into());
    }
    let identity = state.store.identity(target).await?;
    let email = match body.email.as_deref().filter(|e| *e != identity.email) {
        None => None,
        Some(raw) => {
            let email = Email::parse("Email", raw)?;
            let security = state.store.security_settings().await?;
            if !security.may_change_email(caller.user == target, caller.site_admin) {
                return Err(AkanaError::new(
                    StatusCode::FORBIDDEN,
                    "EMAIL_CHANGE_NOT_ALLOWED",
                    "The business security settings do not allow this email change (UserModifyEmail / SiteAdminModifyEmail).",
                ));
            }
            Some(email)
        }
    };
    let opted = match &body.opted_notification {
        Some(requested) => Some(opted_groups(&state.store.notification_groups().await?, requested)?),
        None => None,
    };
    state.store.update_contact(target, email.as_ref(), opted.as_deref()).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], user_fdn(target, tenant)).into_response())
}

/// `GET /api/notificationgroups` (a Roster extension): the catalog users opt in to.
#[utoipa::path(get, path = "/api/notificationgroups", tag = "Akana", responses((status = 200, body = Object), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn list_groups(State(state): State<AppState>, _caller: Caller) -> AkanaResult<Json<Value>> {
    Ok(Json(json!({ "NotificationGroups": state.store.notification_groups().await? })))
}

/// `PUT /api/notificationgroups/{Name}` (a Roster extension): a Site Admin
/// adds a group; 201 when new, 200 when it was there.
#[utoipa::path(put, path = "/api/notificationgroups/{Name}", tag = "Akana", params(("Name" = String, Path)), responses((status = 200, description = "Already there"), (status = 201, description = "Added"), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn add_group(State(state): State<AppState>, caller: Caller, path: PathParams) -> AkanaResult<StatusCode> {
    caller.require_site_admin()?;
    let name = notification_group_name(path.get("Name"))?;
    Ok(if state.store.add_notification_group(&name).await? { StatusCode::CREATED } else { StatusCode::OK })
}
