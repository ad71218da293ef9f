//! `/accounts/{accountId}/users` and `/accounts/{accountId}/users/{userId}`.

use std::future::Future;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use roster_domain::ids::{ProfileId, UserId};
use roster_domain::model::{Address, Group, Member, NewMember, PersonalNames, UserFilter, UserPatch, UserStatus, View};
use roster_domain::validate::{optional_text, required_text, Email, Password, PasswordHash, NAME_MAX, TEXT_MAX};
use roster_domain::Error;
use roster_store::MemberUpdate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::custom_settings::check_items;
use super::settings;
use super::wire::{
    AddressInformation, NewUser, Paging, StrBool, UserInfo, UserInformation, UserInformationIn, UserRef, MIN_DATE,
};
use crate::auth::hash_password;
use crate::cache::{Document, DocumentKey};
use crate::error::DocuSignErrors;
use crate::error::{ApiResult, ErrorDetails};
use crate::etag::{if_match, tagged};
use crate::extract::{InAccount, JsonBody, PathParams, QueryParams};
use crate::AppState;
use roster_domain::settings::USER_FIELDS;

/// Most users one bulk request may carry (DocuSign's limit for create).
pub const BULK_MAX: usize = 500;
/// Largest page of the users list.
pub const PAGE_MAX: u64 = 100;

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserInformationList {
    pub users: Vec<UserInformation>,
    #[serde(flatten)]
    pub paging: Paging,
}

/// `usersResponse`: users, with paging when it is a list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UsersResponse {
    pub users: Vec<UserInfo>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUsersDefinition {
    new_users: Option<Vec<UserInformationIn>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUsersSummary {
    new_users: Vec<NewUser>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserInformationListIn {
    users: Option<Vec<UserInformationIn>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserInfoListIn {
    pub users: Option<Vec<UserRef>>,
}

/// `GET /users`: a page of the account's members.
#[utoipa::path(get, path = "/accounts/{accountId}/users", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("count" = Option<String>, Query), ("start_position" = Option<String>, Query), ("email" = Option<String>, Query), ("email_substring" = Option<String>, Query), ("user_name_substring" = Option<String>, Query), ("status" = Option<String>, Query), ("additional_info" = Option<String>, Query), ("group_id" = Option<String>, Query), ("not_group_id" = Option<String>, Query)), responses((status = 200, body = UserInformationList), DocuSignErrors), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ctx: InAccount,
    query: QueryParams,
) -> ApiResult<Json<UserInformationList>> {
    ctx.actor.ensure_can_list_users()?;
    let (start, count) = page_params(&query)?;
    let statuses = match query.get("status") {
        None => Vec::new(),
        Some(s) => s
            .split(',')
            .map(|v| {
                v.parse::<UserStatus>().map_err(|_| {
                    Error::invalid(
                        "status",
                        format!("'{v}' is not one of ActivationRequired, ActivationSent, Active, Closed, Disabled"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let filter = UserFilter {
        email: query.get("email").map(str::to_owned),
        email_substring: query.get("email_substring").map(str::to_owned),
        user_name_substring: query.get("user_name_substring").map(str::to_owned),
        statuses,
        in_groups: groups_param(&state, &ctx, &query, "group_id").await?,
        not_in_groups: groups_param(&state, &ctx, &query, "not_group_id").await?,
    };
    if filter.email.is_some() && filter.email_substring.is_some() {
        return Err(Error::invalid("email_substring", "cannot be combined with email").into());
    }
    let page = state.store.list_members(ctx.account.id, &filter, start, count).await?;
    let users =
        detailed(&state, &ctx, &page.items, additional_info(&query)).await?.into_iter().map(|(info, _)| info).collect();
    let echoed = query.present(&[
        "email",
        "email_substring",
        "user_name_substring",
        "status",
        "additional_info",
        "group_id",
        "not_group_id",
    ]);
    let base = format!("/accounts/{}/users", ctx.account.id);
    let paging = Paging::new(&base, &echoed, start, count, page.items.len() as u64, page.total);
    Ok(Json(UserInformationList { users, paging }))
}

/// The paging parameters of a list: (`start_position`, `count` from 1 to 100, default 100).
pub(super) fn page_params(query: &QueryParams) -> Result<(u64, u64), Error> {
    let count = match query.get("count") {
        None => PAGE_MAX,
        Some(c) => c
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=PAGE_MAX).contains(n))
            .ok_or_else(|| Error::invalid("count", format!("'{c}' is not a number from 1 to {PAGE_MAX}")))?,
    };
    let start = match query.get("start_position") {
        None => 0,
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| Error::invalid("start_position", format!("'{s}' is not a number of 0 or more")))?,
    };
    Ok((start, count))
}

/// The groups named by a comma-separated list of group ids.
async fn groups_param(state: &AppState, ctx: &InAccount, query: &QueryParams, name: &str) -> Result<Vec<Group>, Error> {
    let mut out = Vec::new();
    for raw in query.get(name).unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
        out.push(state.store.group(ctx.account.id, super::groups::group_id(raw)?).await?);
    }
    Ok(out)
}

/// `POST /users`: creates up to 500 users; 201 with one `newUser` per input,
/// failed ones carrying `errorDetails`.
#[utoipa::path(post, path = "/accounts/{accountId}/users", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID")), request_body = NewUsersDefinition, responses((status = 201, body = NewUsersSummary), DocuSignErrors), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ctx: InAccount,
    JsonBody(body): JsonBody<NewUsersDefinition>,
) -> ApiResult<(StatusCode, Json<NewUsersSummary>)> {
    ctx.actor.ensure_can_manage_users()?;
    let inputs = bounded("newUsers", body.new_users)?;
    let echo: Vec<(Option<String>, Option<String>)> =
        inputs.iter().map(|u| (u.email.clone(), u.user_name.clone())).collect();
    let mut validated = Vec::with_capacity(inputs.len());
    for input in inputs {
        validated.push(match new_member(input) {
            Ok((mut new, password)) => hashed(password).await.map(|h| {
                new.password_hash = h;
                new
            }),
            Err(e) => Err(e),
        });
    }
    let results = per_item(validated, |valid| state.store.create_members(&ctx.actor, valid)).await?;
    let new_users = results
        .iter()
        .zip(echo)
        .map(|(r, (email, user_name))| match r {
            Ok(m) => NewUser::from(m),
            Err(e) => NewUser {
                email,
                user_name,
                created_date_time: MIN_DATE.to_owned(),
                error_details: Some(e.into()),
                ..Default::default()
            },
        })
        .collect();
    Ok((StatusCode::CREATED, Json(NewUsersSummary { new_users })))
}

/// `PUT /users`: partial update of several users, each on its own.
#[utoipa::path(put, path = "/accounts/{accountId}/users", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("allow_all_languages" = Option<String>, Query)), request_body = UserInformationListIn, responses((status = 200, body = UserInformationList), DocuSignErrors), security(("bearer" = [])))]
pub async fn update_many(
    State(state): State<AppState>,
    ctx: InAccount,
    JsonBody(body): JsonBody<UserInformationListIn>,
) -> ApiResult<Json<UserInformationList>> {
    let inputs = bounded("users", body.users)?;
    let echo: Vec<Option<String>> = inputs.iter().map(|u| u.user_id.clone()).collect();
    let mut validated = Vec::with_capacity(inputs.len());
    for input in inputs {
        let target = match input.user_id.as_deref() {
            None => Err(Error::invalid("userId", "is required")),
            Some(raw) => target_user(raw, |id| ctx.actor.ensure_can_update_user(id)),
        };
        validated.push(match target {
            Ok(user_id) => member_update(user_id, &input).await,
            Err(e) => Err(e),
        });
    }
    let results = per_item(validated, |valid| state.store.update_members(&ctx.actor, valid)).await?;
    let users = results
        .iter()
        .zip(echo)
        .map(|(r, user_id)| match r {
            Ok(m) => with_settings(m, &ctx),
            Err(e) => UserInformation { user_id, error_details: Some(ErrorDetails::from(e)), ..Default::default() },
        })
        .collect();
    Ok(Json(UserInformationList { users, paging: Paging::default() }))
}

/// `DELETE /users`: closes users (they stay, with `userStatus` `Closed`).
#[utoipa::path(delete, path = "/accounts/{accountId}/users", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("delete" = Option<String>, Query)), request_body = UserInfoListIn, responses((status = 200, body = UsersResponse), DocuSignErrors), security(("bearer" = [])))]
pub async fn close_many(
    State(state): State<AppState>,
    ctx: InAccount,
    JsonBody(body): JsonBody<UserInfoListIn>,
) -> ApiResult<Json<UsersResponse>> {
    ctx.actor.ensure_can_manage_users()?;
    let inputs = bounded("users", body.users)?;
    let echo: Vec<Option<String>> = inputs.iter().map(|u| u.user_id.clone()).collect();
    let validated = inputs
        .into_iter()
        .map(|u| {
            let raw = u.user_id.ok_or_else(|| Error::invalid("userId", "is required"))?;
            let user_id = target_user(&raw, |_| Ok(()))?;
            let patch = UserPatch { status: Some(UserStatus::Closed), ..Default::default() };
            Ok(MemberUpdate { user_id, patch, if_match: None })
        })
        .collect();
    let results = per_item(validated, |valid| state.store.update_members(&ctx.actor, valid)).await?;
    let users = results
        .iter()
        .zip(echo)
        .map(|(r, user_id)| match r {
            Ok(m) => UserInfo::from(m),
            Err(e) => UserInfo { user_id, error_details: Some(e.into()), ..Default::default() },
        })
        .collect();
    Ok(Json(UsersResponse { users, paging: Paging::default() }))
}

/// `GET /users/{userId}`, with an `ETag` (`additional_info=true` adds the
/// ungrouped custom settings).
#[utoipa::path(get, path = "/accounts/{accountId}/users/{userId}", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID"), ("additional_info" = Option<String>, Query)), responses((status = 200, body = UserInformation), (status = 304, description = "Not modified"), DocuSignErrors), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    query: QueryParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let user = target_user(path.get("userId"), |id| ctx.actor.ensure_can_read_user(id))?;
    let custom = additional_info(&query);
    let key = DocumentKey::User { account: ctx.account.id, user, manager: ctx.actor.caps.manage_users, custom };
    let document = state.cache.document(&ctx.view, key, async {
        let member = state.store.member(ctx.account.id, user).await?;
        let (info, tag) = detailed(&state, &ctx, &[member], custom).await?.pop().unwrap_or_default();
        Ok::<_, Error>(Document::new(tag, &info))
    });
    Ok(document.await?.respond(&headers))
}

/// A member as `userInformation` with its `userSettings`.
fn with_settings(m: &Member, ctx: &InAccount) -> UserInformation {
    UserInformation { user_settings: Some(settings::to_wire(m, ctx.actor.caps.manage_users, false)), ..m.into() }
}

/// Whether `additional_info=true` (any case) was asked.
fn additional_info(query: &QueryParams) -> bool {
    query.get("additional_info").and_then(StrBool::parse).unwrap_or(false)
}

/// Members as `userInformation` with their `userSettings` and `groupList`
/// (and, with `custom`, their ungrouped `customSettings`), each with its ETag value.
async fn detailed(
    state: &AppState,
    ctx: &InAccount,
    members: &[Member],
    custom: bool,
) -> Result<Vec<(UserInformation, String)>, Error> {
    let ids: Vec<UserId> = members.iter().map(|m| m.user.id).collect();
    let mut customs =
        if custom { state.store.ungrouped_custom_settings(ctx.account.id, &ids).await? } else { Default::default() };
    let mut groups = state.store.groups_of(ctx.account.id, members).await?;
    Ok(members
        .iter()
        .map(|m| {
            let mut info = with_settings(m, ctx);
            let list = groups.remove(&m.user.id).unwrap_or_default();
            info.group_list = Some(list.iter().map(Into::into).collect());
            if custom {
                let list = customs.remove(&m.user.id).unwrap_or_default();
                info.custom_settings = Some(list.iter().map(Into::into).collect());
            }
            (info, m.revision().tag())
        })
        .collect())
}

/// `PUT /users/{userId}`: partial update of one user (`If-Match` honoured).
#[utoipa::path(put, path = "/accounts/{accountId}/users/{userId}", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID")), request_body = UserInformationIn, responses((status = 200, body = UserInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn update_one(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(input): JsonBody<UserInformationIn>,
) -> ApiResult<Response> {
    let user_id = target_user(path.get("userId"), |id| ctx.actor.ensure_can_update_user(id))?;
    if let Some(body_id) = input.user_id.as_deref().filter(|s| !s.is_empty()) {
        if body_id.parse::<UserId>().ok() != Some(user_id) {
            return Err(Error::invalid("userId", "differs from the userId in the path").into());
        }
    }
    let mut update = member_update(user_id, &input).await?;
    update.if_match = if_match(&headers).map(|t| (View::User, t));
    let member = state.store.update_member(&ctx.actor, update).await?;
    let info = detailed(&state, &ctx, &[member], false).await?.pop().unwrap_or_default();
    Ok(tagged(&info.1, Json(info.0)))
}

/// Parses a target user id and checks the caller `may` act on it. A
/// malformed id is refused exactly as another user's id would be, so a
/// caller who may not see other users learns nothing from the answer.
pub(super) fn target_user(raw: &str, may: impl Fn(UserId) -> Result<(), Error>) -> Result<UserId, Error> {
    match raw.parse::<UserId>() {
        Ok(id) => may(id).map(|()| id),
        Err(malformed) => {
            // The nil id is nobody's: `may` answers as for any other user.
            may(UserId(Uuid::nil()))?;
            Err(malformed)
        }
    }
}

/// The items of a bulk request: present, not empty, at most [`BULK_MAX`].
pub(super) fn bounded<T>(field: &str, items: Option<Vec<T>>) -> Result<Vec<T>, Error> {
    let items = items.ok_or_else(|| Error::invalid(field, "is required"))?;
    if items.is_empty() {
        return Err(Error::invalid(field, "must list at least one item"));
    }
    if items.len() > BULK_MAX {
        return Err(Error::invalid(field, format!("lists {} items; the limit is {BULK_MAX} per request", items.len())));
    }
    Ok(items)
}

/// Runs the valid items through `run` and puts every result, failed
/// validations included, back in request order.
pub(super) async fn per_item<T, R, F, Fut>(
    inputs: Vec<Result<T, Error>>,
    run: F,
) -> Result<Vec<Result<R, Error>>, Error>
where
    F: FnOnce(Vec<T>) -> Fut,
    Fut: Future<Output = Result<Vec<Result<R, Error>>, Error>>,
{
    let mut valid = Vec::new();
    let mut failures = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input {
            Ok(item) => {
                valid.push(item);
                failures.push(None);
            }
            Err(e) => failures.push(Some(e)),
        }
    }
    let mut done = run(valid).await?.into_iter();
    Ok(failures
        .into_iter()
        .map(|f| match f {
            Some(e) => Err(e),
            None => done.next().unwrap_or_else(|| Err(Error::Internal("missing result for an item".into()))),
        })
        .collect())
}

/// Hashes a password off the async threads, if there is one.
async fn hashed(password: Option<Password>) -> Result<Option<PasswordHash>, Error> {
    match password {
        Some(p) => Ok(Some(hash_password(p).await?)),
        None => Ok(None),
    }
}

/// A create item, validated; the password comes back apart, to be hashed.
/// It is read as a patch (the same rules per field), then the fields a new
/// user must have are required.
fn new_member(u: UserInformationIn) -> Result<(NewMember, Option<Password>), Error> {
    let email = u.email.as_deref().ok_or_else(|| Error::invalid("email", "is required"))?;
    let user_name = required_text("userName", u.user_name.as_deref().unwrap_or_default(), NAME_MAX)?;
    let (patch, password) = user_patch(&u)?;
    let new = NewMember {
        email: Email::parse("email", email)?,
        user_name,
        names: PersonalNames {
            first_name: patch.first_name.flatten(),
            middle_name: patch.middle_name.flatten(),
            last_name: patch.last_name.flatten(),
            suffix_name: patch.suffix_name.flatten(),
            title: patch.title.flatten(),
        },
        job_title: patch.job_title.flatten(),
        company: patch.company.flatten(),
        country_code: patch.country_code.flatten(),
        work_address: patch.work_address,
        home_address: patch.home_address,
        password_hash: None,
        status: patch.status,
        profile: patch.profile,
        is_admin: patch.is_admin.unwrap_or(false),
        settings: patch.settings,
        custom_settings: match &u.custom_settings {
            None => Vec::new(),
            Some(items) => {
                let (good, echo) = check_items(items, false);
                if let Some((i, bad)) = echo.iter().enumerate().find(|(_, e)| e.error_details.is_some()) {
                    let why = bad.error_details.as_ref().map(|d| d.message.clone()).unwrap_or_default();
                    return Err(Error::invalid(format!("customSettings[{i}]"), why));
                }
                good
            }
        },
    };
    Ok((new, password))
}

async fn member_update(user_id: UserId, u: &UserInformationIn) -> Result<MemberUpdate, Error> {
    let (mut patch, password) = user_patch(u)?;
    patch.password_hash = hashed(password).await?;
    Ok(MemberUpdate { user_id, patch, if_match: None })
}

fn user_patch(u: &UserInformationIn) -> Result<(UserPatch, Option<Password>), Error> {
    let opt = |field: &str, v: &Option<String>, max: usize| -> Result<Option<Option<String>>, Error> {
        v.as_deref().map(|v| optional_text(field, v, max)).transpose()
    };
    let password = u.password.as_deref().map(|p| Password::parse("password", p)).transpose()?;
    let patch = UserPatch {
        email: u.email.as_deref().map(|e| Email::parse("email", e)).transpose()?,
        user_name: u.user_name.as_deref().map(|n| required_text("userName", n, NAME_MAX)).transpose()?,
        first_name: opt("firstName", &u.first_name, NAME_MAX)?,
        middle_name: opt("middleName", &u.middle_name, NAME_MAX)?,
        last_name: opt("lastName", &u.last_name, NAME_MAX)?,
        suffix_name: opt("suffixName", &u.suffix_name, NAME_MAX)?,
        title: opt("title", &u.title, NAME_MAX)?,
        job_title: opt("jobTitle", &u.job_title, TEXT_MAX)?,
        company: opt("company", &u.company, TEXT_MAX)?,
        country_code: opt("countryCode", &u.country_code, TEXT_MAX)?,
        work_address: u.work_address.as_ref().map(|a| address("workAddress", a)).transpose()?,
        home_address: u.home_address.as_ref().map(|a| address("homeAddress", a)).transpose()?,
        password_hash: None,
        status: u.user_status.as_deref().map(str::parse).transpose()?,
        profile: u.permission_profile_id.as_ref().map(|p| p.0.parse::<ProfileId>()).transpose()?,
        is_admin: u.is_admin.map(|StrBool(b)| b),
        settings: u.user_settings.as_ref().map(|s| settings::from_wire(s, USER_FIELDS, "userSettings.")).transpose()?,
        personal: None,
    };
    Ok((patch, password))
}

pub(super) fn address(field: &str, a: &AddressInformation) -> Result<Address, Error> {
    let part = |name: &str, v: &Option<String>, max: usize| -> Result<Option<String>, Error> {
        v.as_deref().map(|v| optional_text(&format!("{field}.{name}"), v, max)).transpose().map(Option::flatten)
    };
    Ok(Address {
        address1: part("address1", &a.address1, 100)?,
        address2: part("address2", &a.address2, 100)?,
        city: part("city", &a.city, 40)?,
        country: part("country", &a.country, 50)?,
        fax: part("fax", &a.fax, 20)?,
        phone: part("phone", &a.phone, 20)?,
        postal_code: part("postalCode", &a.postal_code, 20)?,
        state_or_province: part("stateOrProvince", &a.state_or_province, 40)?,
        zip_plus4: part("zipPlus4", &a.zip_plus4, 20)?,
    })
}
