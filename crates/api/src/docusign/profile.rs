//! `GET|PUT /accounts/{accountId}/users/{userId}/profile`: the user's own
//! profile. Even an administrator reads and writes only its own, as the spec says.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use roster_domain::model::{Member, PersonalProfile, UserPatch, View};
use roster_domain::validate::{optional_text, required_text, NAME_MAX, TEXT_MAX};
use roster_domain::Error;
use roster_store::MemberUpdate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::users::{address, target_user};
use super::wire::{ds_date, flag, AddressInformation, StrBool, UserInformation};
use crate::error::ApiResult;
use crate::error::DocuSignErrors;
use crate::etag::{if_match, not_modified, tagged};
use crate::extract::{InAccount, JsonBody, PathParams};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<AddressInformation>,
    #[schema(value_type = Vec<Object>)]
    authentication_methods: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<String>,
    display_organization_info: String,
    display_personal_info: String,
    display_profile: String,
    display_usage_history: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[schema(value_type = Object)]
    usage_history: serde_json::Value,
    user_details: UserInformation,
    user_profile_last_modified_date: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileIn {
    address: Option<AddressInformation>,
    company_name: Option<String>,
    #[schema(value_type = Option<bool>)]
    display_organization_info: Option<StrBool>,
    #[schema(value_type = Option<bool>)]
    display_personal_info: Option<StrBool>,
    #[schema(value_type = Option<bool>)]
    display_profile: Option<StrBool>,
    #[schema(value_type = Option<bool>)]
    display_usage_history: Option<StrBool>,
    title: Option<String>,
    user_details: Option<NameDetails>,
}

/// The part of `userDetails` a profile update may change: the names.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct NameDetails {
    user_name: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    suffix_name: Option<String>,
    title: Option<String>,
}

fn only_self(ctx: &InAccount, raw: &str) -> Result<roster_domain::ids::UserId, Error> {
    target_user(raw, |id| {
        if ctx.actor.is_self(id) {
            Ok(())
        } else {
            Err(Error::Forbidden("a user's profile can be read and changed only by the user itself".into()))
        }
    })
}

fn to_wire(m: &Member) -> UserProfile {
    let p = &m.user.personal;
    let shown = |v: Option<bool>| flag(v.unwrap_or(true));
    UserProfile {
        address: p.address.as_ref().map(Into::into),
        authentication_methods: Vec::new(),
        company_name: m.user.company.clone(),
        display_organization_info: shown(p.display_organization_info),
        display_personal_info: shown(p.display_personal_info),
        display_profile: shown(p.display_profile),
        display_usage_history: shown(p.display_usage_history),
        title: m.user.job_title.clone(),
        usage_history: json!({"sentCount": "0", "signedCount": "0"}),
        user_details: UserInformation::from(m),
        user_profile_last_modified_date: ds_date(p.modified_at.unwrap_or(m.user.updated_at)),
    }
}

/// `GET /users/{userId}/profile`, with an `ETag`.
#[utoipa::path(get, path = "/accounts/{accountId}/users/{userId}/profile", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID")), responses((status = 200, body = UserProfile), (status = 304, description = "Not modified"), DocuSignErrors), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let user = only_self(&ctx, path.get("userId"))?;
    let member = state.store.member(ctx.account.id, user).await?;
    let tag = member.tag(View::Profile);
    Ok(not_modified(&headers, &tag).unwrap_or_else(|| tagged(&tag, Json(to_wire(&member)))))
}

/// `PUT /users/{userId}/profile`: 200 with no body. Name parts in
/// `userDetails` win over its `userName`, which is then derived from them.
#[utoipa::path(put, path = "/accounts/{accountId}/users/{userId}/profile", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID")), request_body = UserProfileIn, responses((status = 200, description = "Saved; no body"), DocuSignErrors), security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(input): JsonBody<UserProfileIn>,
) -> ApiResult<Response> {
    let user_id = only_self(&ctx, path.get("userId"))?;
    let current = state.store.member(ctx.account.id, user_id).await?;
    let opt =
        |field: &str, v: &Option<String>, max: usize| v.as_deref().map(|v| optional_text(field, v, max)).transpose();
    let mut patch = UserPatch {
        company: opt("companyName", &input.company_name, TEXT_MAX)?,
        job_title: opt("title", &input.title, TEXT_MAX)?,
        personal: Some(PersonalProfile {
            address: input.address.as_ref().map(|a| address("address", a)).transpose()?,
            display_organization_info: input.display_organization_info.map(|b| b.0),
            display_personal_info: input.display_personal_info.map(|b| b.0),
            display_profile: input.display_profile.map(|b| b.0),
            display_usage_history: input.display_usage_history.map(|b| b.0),
            modified_at: Some(roster_domain::model::Timestamp::now()),
        }),
        ..Default::default()
    };
    if let Some(d) = &input.user_details {
        patch.first_name = opt("userDetails.firstName", &d.first_name, NAME_MAX)?;
        patch.middle_name = opt("userDetails.middleName", &d.middle_name, NAME_MAX)?;
        patch.last_name = opt("userDetails.lastName", &d.last_name, NAME_MAX)?;
        patch.suffix_name = opt("userDetails.suffixName", &d.suffix_name, NAME_MAX)?;
        patch.title = opt("userDetails.title", &d.title, NAME_MAX)?;
        let parts_changed = [&patch.first_name, &patch.middle_name, &patch.last_name, &patch.suffix_name, &patch.title]
            .iter()
            .any(|p| p.is_some());
        patch.user_name = if parts_changed {
            let mut names = current.user.names.clone();
            for (slot, new) in [
                (&mut names.first_name, &patch.first_name),
                (&mut names.middle_name, &patch.middle_name),
                (&mut names.last_name, &patch.last_name),
                (&mut names.suffix_name, &patch.suffix_name),
            ] {
                if let Some(v) = new {
                    slot.clone_from(v);
                }
            }
            let full = [names.first_name, names.middle_name, names.last_name, names.suffix_name]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then(|| required_text("userDetails.userName", &full, NAME_MAX)).transpose()?
        } else {
            d.user_name.as_deref().map(|n| required_text("userDetails.userName", n, NAME_MAX)).transpose()?
        };
    }
    let update = MemberUpdate { user_id, patch, if_match: if_match(&headers).map(|t| (View::Profile, t)) };
    let member = state.store.update_member(&ctx.actor, update).await?;
    Ok(tagged(&member.tag(View::Profile), ()))
}
