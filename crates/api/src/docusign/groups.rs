//! `/accounts/{accountId}/groups` and `/accounts/{accountId}/groups/{groupId}/users`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::ids::{ProfileId, UserId};
use roster_domain::model::{Group, GroupKind};
use roster_domain::validate::required_text;
use roster_domain::Error;
use roster_store::{GroupChange, NewGroup};
use serde::{Deserialize, Serialize};

use super::users::{bounded, page_params, per_item, target_user, UserInfoListIn, UsersResponse};
use super::wire::{IdValue, Paging, UserInfo};
use crate::error::DocuSignErrors;
use crate::error::{ApiResult, ErrorDetails};
use crate::etag::{if_match, not_modified, tagged};
use crate::extract::{InAccount, JsonBody, PathParams, QueryParams};
use crate::AppState;

/// Longest group name.
const GROUP_NAME_MAX: usize = 100;

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permission_profile_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users_count: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_details: Option<ErrorDetails>,
}

impl From<&Group> for GroupOut {
    fn from(g: &Group) -> Self {
        GroupOut {
            group_id: Some(g.id.to_string()),
            group_name: Some(g.name.clone()),
            group_type: Some(g.kind.as_str()),
            permission_profile_id: g.profile.map(|p| p.to_string()),
            ..Default::default()
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupInformation {
    groups: Vec<GroupOut>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupIn {
    #[schema(value_type = Option<String>)]
    group_id: Option<IdValue>,
    group_name: Option<String>,
    #[schema(value_type = Option<String>)]
    permission_profile_id: Option<IdValue>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct GroupInformationIn {
    groups: Option<Vec<GroupIn>>,
}

pub fn group_id(raw: &str) -> Result<i64, Error> {
    raw.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| Error::UnknownGroup(raw.chars().take(64).collect()))
}

/// The `groupId` an update or delete item must carry.
fn required_group_id(g: &GroupIn) -> Result<i64, Error> {
    group_id(&g.group_id.as_ref().ok_or_else(|| Error::invalid("groupId", "is required"))?.0)
}

fn profile(v: &Option<IdValue>) -> Result<Option<ProfileId>, Error> {
    v.as_ref().map(|p| p.0.parse()).transpose()
}

fn echo(result: &Result<Group, Error>, id: Option<String>, name: Option<String>) -> GroupOut {
    match result {
        Ok(g) => g.into(),
        Err(e) => GroupOut { group_id: id, group_name: name, error_details: Some(e.into()), ..Default::default() },
    }
}

/// `GET /groups`: `count`, `start_position`, `search_text`, `group_type`,
/// `include_usercount` (default true).
#[utoipa::path(get, path = "/accounts/{accountId}/groups", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("count" = Option<String>, Query), ("start_position" = Option<String>, Query), ("search_text" = Option<String>, Query), ("group_type" = Option<String>, Query), ("include_usercount" = Option<String>, Query)), responses((status = 200, body = GroupInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ctx: InAccount,
    query: QueryParams,
) -> ApiResult<Json<GroupInformation>> {
    ctx.actor.ensure_can_read_groups()?;
    let (start, count) = page_params(&query)?;
    let kind = query
        .get("group_type")
        .map(|t| {
            GroupKind::parse(t).ok_or_else(|| {
                Error::invalid("group_type", format!("'{t}' is not AdminGroup, EveryoneGroup or CustomGroup"))
            })
        })
        .transpose()?;
    let with_counts = match query.get("include_usercount") {
        None => true,
        Some(v) => super::wire::StrBool::parse(v)
            .ok_or_else(|| Error::invalid("include_usercount", format!("'{v}' is not true or false")))?,
    };
    let search = query.get("search_text");
    let (page, counts) = state.store.groups(ctx.account.id, search, kind, start, count, with_counts).await?;
    let groups = page
        .items
        .iter()
        .zip(counts)
        .map(|(g, n)| GroupOut { users_count: n.map(|n| n.to_string()), ..g.into() })
        .collect();
    let echoed = query.present(&["search_text", "group_type", "include_usercount"]);
    let base = format!("/accounts/{}/groups", ctx.account.id);
    let paging = Paging::new(&base, &echoed, start, count, page.items.len() as u64, page.total);
    Ok(Json(GroupInformation { groups, paging }))
}

/// `POST /groups`: 201, one result per group, failures with `errorDetails`.
#[utoipa::path(post, path = "/accounts/{accountId}/groups", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID")), request_body = GroupInformationIn, responses((status = 201, body = GroupInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ctx: InAccount,
    JsonBody(body): JsonBody<GroupInformationIn>,
) -> ApiResult<Response> {
    ctx.actor.ensure_can_manage_groups()?;
    let inputs = bounded("groups", body.groups)?;
    let validated = inputs
        .iter()
        .map(|g| {
            Ok(NewGroup {
                name: required_text("groupName", g.group_name.as_deref().unwrap_or_default(), GROUP_NAME_MAX)?,
                profile: profile(&g.permission_profile_id)?,
            })
        })
        .collect();
    let results = per_item(validated, |valid| state.store.create_groups(&ctx.actor, valid)).await?;
    let groups = results.iter().zip(&inputs).map(|(r, g)| echo(r, None, g.group_name.clone())).collect();
    Ok((StatusCode::CREATED, Json(GroupInformation { groups, paging: Paging::default() })).into_response())
}

/// `PUT /groups`: renames groups and sets their permission profile.
#[utoipa::path(put, path = "/accounts/{accountId}/groups", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID")), request_body = GroupInformationIn, responses((status = 200, body = GroupInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ctx: InAccount,
    JsonBody(body): JsonBody<GroupInformationIn>,
) -> ApiResult<Json<GroupInformation>> {
    ctx.actor.ensure_can_manage_groups()?;
    let inputs = bounded("groups", body.groups)?;
    let validated = inputs
        .iter()
        .map(|g| {
            Ok(GroupChange {
                id: required_group_id(g)?,
                name: g.group_name.as_deref().map(|n| required_text("groupName", n, GROUP_NAME_MAX)).transpose()?,
                profile: profile(&g.permission_profile_id)?,
            })
        })
        .collect();
    let results = per_item(validated, |valid| state.store.update_groups(&ctx.actor, valid)).await?;
    let groups = results
        .iter()
        .zip(&inputs)
        .map(|(r, g)| echo(r, g.group_id.as_ref().map(|i| i.0.clone()), g.group_name.clone()))
        .collect();
    Ok(Json(GroupInformation { groups, paging: Paging::default() }))
}

/// `DELETE /groups`: deletes custom groups (`{"groups": [{"groupId"}]}`).
#[utoipa::path(delete, path = "/accounts/{accountId}/groups", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID")), request_body = GroupInformationIn, responses((status = 200, body = GroupInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: InAccount,
    JsonBody(body): JsonBody<GroupInformationIn>,
) -> ApiResult<Json<GroupInformation>> {
    ctx.actor.ensure_can_manage_groups()?;
    let inputs = bounded("groups", body.groups)?;
    let validated = inputs.iter().map(required_group_id).collect();
    let results = per_item(validated, |valid| state.store.delete_groups(&ctx.actor, valid)).await?;
    let groups =
        results.iter().zip(&inputs).map(|(r, g)| echo(r, g.group_id.as_ref().map(|i| i.0.clone()), None)).collect();
    Ok(Json(GroupInformation { groups, paging: Paging::default() }))
}

/// `GET /groups/{groupId}/users`: a page of members, with the group's `ETag`.
#[utoipa::path(get, path = "/accounts/{accountId}/groups/{groupId}/users", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("groupId" = String, Path), ("count" = Option<String>, Query), ("start_position" = Option<String>, Query)), responses((status = 200, body = UsersResponse), (status = 304, description = "Not modified"), DocuSignErrors), security(("bearer" = [])))]
pub async fn members(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    query: QueryParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    ctx.actor.ensure_can_read_groups()?;
    let group = state.store.group(ctx.account.id, group_id(path.get("groupId"))?).await?;
    let (start, count) = page_params(&query)?;
    let tag = group.version.to_string();
    if let Some(not_modified) = not_modified(&headers, &tag) {
        return Ok(not_modified);
    }
    let page = state.store.group_members(ctx.account.id, &group, start, count).await?;
    let base = format!("/accounts/{}/groups/{}/users", ctx.account.id, group.id);
    let paging = Paging::new(&base, &[], start, count, page.items.len() as u64, page.total);
    let users = page.items.iter().map(UserInfo::from).collect();
    Ok(tagged(&tag, Json(UsersResponse { users, paging })))
}

/// `PUT /groups/{groupId}/users`: adds users, each on its own.
#[utoipa::path(put, path = "/accounts/{accountId}/groups/{groupId}/users", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("groupId" = String, Path)), request_body = UserInfoListIn, responses((status = 200, body = UsersResponse), DocuSignErrors), security(("bearer" = [])))]
pub async fn add_members(
    state: State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    body: JsonBody<UserInfoListIn>,
) -> ApiResult<Json<UsersResponse>> {
    change_members(state, ctx, path, headers, body, true).await
}

/// `DELETE /groups/{groupId}/users`: removes users, each on its own.
#[utoipa::path(delete, path = "/accounts/{accountId}/groups/{groupId}/users", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("groupId" = String, Path)), request_body = UserInfoListIn, responses((status = 200, body = UsersResponse), DocuSignErrors), security(("bearer" = [])))]
pub async fn remove_members(
    state: State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    body: JsonBody<UserInfoListIn>,
) -> ApiResult<Json<UsersResponse>> {
    change_members(state, ctx, path, headers, body, false).await
}

async fn change_members(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UserInfoListIn>,
    add: bool,
) -> ApiResult<Json<UsersResponse>> {
    ctx.actor.ensure_can_manage_groups()?;
    let id = group_id(path.get("groupId"))?;
    let inputs = bounded("users", body.users)?;
    let validated: Vec<Result<UserId, Error>> = inputs
        .iter()
        .map(|u| target_user(u.user_id.as_deref().ok_or_else(|| Error::invalid("userId", "is required"))?, |_| Ok(())))
        .collect();
    let tags = if_match(&headers);
    let results =
        per_item(validated, |valid| state.store.change_group_members(&ctx.actor, id, valid, add, tags)).await?;
    let users = results
        .iter()
        .zip(&inputs)
        .map(|(r, u)| match r {
            Ok(m) => UserInfo::from(m),
            Err(e) => UserInfo { user_id: u.user_id.clone(), error_details: Some(e.into()), ..Default::default() },
        })
        .collect();
    Ok(Json(UsersResponse { users, paging: Paging::default() }))
}
