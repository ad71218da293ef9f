//! `/accounts/{accountId}/permission_profiles[/{permissionProfileId}]`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::ids::{ProfileId, UserId};
use roster_domain::model::PermissionProfile;
use roster_domain::roles::{profile_name, ROLE_FIELDS};
use roster_domain::settings::Field;
use roster_domain::Error;
use roster_store::{ProfileChange, ProfileUsers};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::settings::{document, from_wire};
use super::wire::{ds_date, UserRef};
use crate::error::ApiResult;
use crate::error::DocuSignErrors;
use crate::etag::{if_match, not_modified, tagged};
use crate::extract::{InAccount, JsonBody, PathParams, QueryParams};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionProfileOut {
    permission_profile_id: String,
    permission_profile_name: String,
    modified_by_username: String,
    modified_date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_count: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    settings: Option<Map<String, Value>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionProfileInformation {
    permission_profiles: Vec<PermissionProfileOut>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionProfileIn {
    permission_profile_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    settings: Option<Map<String, Value>>,
    users: Option<Vec<UserRef>>,
}

/// What a response shows of each profile.
#[derive(Default, Clone, Copy)]
struct Shown {
    settings: bool,
    /// Only the account-management settings (`include=account_management`).
    management_only: bool,
    metadata: bool,
    user_count: bool,
    closed_users: bool,
}

/// The comma-separated `include` values (spaces tolerated), each one of `allowed`.
fn includes(query: &QueryParams, allowed: &[&str]) -> Result<Vec<String>, Error> {
    let Some(raw) = query.get("include") else { return Ok(Vec::new()) };
    let values: Vec<String> = raw.split(',').map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty()).collect();
    match values.iter().find(|v| !allowed.contains(&v.as_str())) {
        Some(bad) => Err(Error::invalid("include", format!("'{bad}' is not one of {}", allowed.join(", ")))),
        None => Ok(values),
    }
}

fn to_wire(p: &PermissionProfile, users: Option<ProfileUsers>, shown: Shown) -> PermissionProfileOut {
    let editable = |_: &Field| true;
    let settings = shown.settings.then(|| {
        let mut doc = document(
            &p.settings.effective(p.builtin),
            ROLE_FIELDS,
            shown.metadata.then_some(&editable as &dyn Fn(&Field) -> bool),
        );
        if shown.management_only {
            doc.retain(|k, _| k.starts_with("allowAccountManagement") || k == "accountManagementGranular");
        }
        doc
    });
    PermissionProfileOut {
        permission_profile_id: p.id.to_string(),
        permission_profile_name: p.name.clone(),
        modified_by_username: p.modified_by.clone().unwrap_or_default(),
        modified_date_time: ds_date(p.modified_at),
        user_count: users
            .filter(|_| shown.user_count || shown.closed_users)
            .map(|u| (u.open + if shown.closed_users { u.closed } else { 0 }).to_string()),
        settings,
    }
}

fn profile_id(path: &PathParams) -> Result<ProfileId, Error> {
    path.get("permissionProfileId").parse()
}

/// One profile's own view: full settings, metadata when asked.
fn single(query: &QueryParams) -> Result<Shown, Error> {
    let metadata = includes(query, &["metadata"])?.iter().any(|v| v == "metadata");
    Ok(Shown { settings: true, metadata, ..Default::default() })
}

/// `GET /permission_profiles`: without `include`, no settings (as DocuSign).
#[utoipa::path(get, path = "/accounts/{accountId}/permission_profiles", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("include" = Option<String>, Query)), responses((status = 200, body = PermissionProfileInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ctx: InAccount,
    query: QueryParams,
) -> ApiResult<Json<PermissionProfileInformation>> {
    ctx.actor.ensure_can_read_profiles()?;
    let inc = includes(&query, &["user_count", "closed_users", "account_management", "metadata"])?;
    let has = |v: &str| inc.iter().any(|i| i == v);
    let shown = Shown {
        settings: has("account_management") || has("metadata"),
        management_only: has("account_management") && !has("metadata"),
        metadata: has("metadata"),
        user_count: has("user_count"),
        closed_users: has("closed_users"),
    };
    let profiles = state.store.permission_profiles(ctx.account.id).await?;
    let permission_profiles = profiles.iter().map(|(p, users)| to_wire(p, Some(*users), shown)).collect();
    Ok(Json(PermissionProfileInformation { permission_profiles }))
}

/// `POST /permission_profiles`: 201 with the new profile.
#[utoipa::path(post, path = "/accounts/{accountId}/permission_profiles", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("include" = Option<String>, Query)), request_body = PermissionProfileIn, responses((status = 201, body = PermissionProfileOut), DocuSignErrors), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ctx: InAccount,
    query: QueryParams,
    JsonBody(input): JsonBody<PermissionProfileIn>,
) -> ApiResult<Response> {
    ctx.actor.ensure_can_manage_profiles()?;
    let shown = single(&query)?;
    let name = profile_name(input.permission_profile_name.as_deref().unwrap_or_default())?;
    let settings =
        input.settings.as_ref().map(|s| from_wire(s, ROLE_FIELDS, "settings.")).transpose()?.unwrap_or_default();
    let profile = state.store.create_permission_profile(&ctx.actor, name, settings).await?;
    Ok((StatusCode::CREATED, tagged(&profile.tag(), Json(to_wire(&profile, None, shown)))).into_response())
}

/// `GET /permission_profiles/{id}`, with an `ETag`.
#[utoipa::path(get, path = "/accounts/{accountId}/permission_profiles/{permissionProfileId}", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("permissionProfileId" = String, Path), ("include" = Option<String>, Query)), responses((status = 200, body = PermissionProfileOut), (status = 304, description = "Not modified"), DocuSignErrors), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    query: QueryParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    ctx.actor.ensure_can_read_profiles()?;
    let shown = single(&query)?;
    let profile = state.store.permission_profile(ctx.account.id, profile_id(&path)?).await?;
    let tag = profile.tag();
    Ok(not_modified(&headers, &tag).unwrap_or_else(|| tagged(&tag, Json(to_wire(&profile, None, shown)))))
}

/// `PUT /permission_profiles/{id}`: merges settings, renames, assigns `users`.
#[utoipa::path(put, path = "/accounts/{accountId}/permission_profiles/{permissionProfileId}", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("permissionProfileId" = String, Path), ("include" = Option<String>, Query)), request_body = PermissionProfileIn, responses((status = 200, body = PermissionProfileOut), DocuSignErrors), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    query: QueryParams,
    headers: HeaderMap,
    JsonBody(input): JsonBody<PermissionProfileIn>,
) -> ApiResult<Response> {
    ctx.actor.ensure_can_manage_profiles()?;
    let shown = single(&query)?;
    let id = profile_id(&path)?;
    let users = input
        .users
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, u)| {
            u.user_id
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("users[{i}].userId"), "is required"))?
                .parse::<UserId>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let change = ProfileChange {
        name: input.permission_profile_name.as_deref().map(profile_name).transpose()?,
        settings: input.settings.as_ref().map(|s| from_wire(s, ROLE_FIELDS, "settings.")).transpose()?,
        users,
        if_match: if_match(&headers),
    };
    let profile = state.store.update_permission_profile(&ctx.actor, id, change).await?;
    Ok(tagged(&profile.tag(), Json(to_wire(&profile, None, shown))))
}

/// `DELETE /permission_profiles/{id}[?move_users_to=ID]`: 200 with no body.
#[utoipa::path(delete, path = "/accounts/{accountId}/permission_profiles/{permissionProfileId}", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("permissionProfileId" = String, Path), ("move_users_to" = Option<String>, Query)), responses((status = 200, description = "Deleted; no body"), DocuSignErrors), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    query: QueryParams,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    ctx.actor.ensure_can_manage_profiles()?;
    let id = profile_id(&path)?;
    let move_to = query.get("move_users_to").map(str::parse::<ProfileId>).transpose()?;
    state.store.delete_permission_profile(&ctx.actor, id, move_to, if_match(&headers)).await?;
    Ok(StatusCode::OK)
}
