//! `GET|PUT|DELETE /accounts/{accountId}/users/{userId}/custom_settings`,
//! grouped by the `X-DocuSign-User-Settings-Key` header.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName};
use axum::response::Response;
use axum::Json;
use roster_domain::custom_settings::{group_key, CustomSetting};
use roster_domain::tag::content_tag;
use roster_domain::Error;
use roster_store::CustomChange;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::settings::settings_write;
use super::users::target_user;
use crate::cache::{Document, DocumentKey};
use crate::error::DocuSignErrors;
use crate::error::{ApiResult, ErrorDetails};
use crate::etag::{if_match, tagged};
use crate::extract::{InAccount, JsonBody, PathParams};
use crate::AppState;

/// Most items one request may carry (the size limit allows far fewer settings anyway).
const MAX_ITEMS: usize = 500;

pub const SETTINGS_KEY: HeaderName = HeaderName::from_static("x-docusign-user-settings-key");

/// A `nameValue` item.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameValue {
    /// As sent: a string, or whatever a failed item carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub name: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
}

impl From<&CustomSetting> for NameValue {
    fn from(s: &CustomSetting) -> Self {
        NameValue {
            name: Some(Value::String(s.name.clone())),
            value: Some(Value::String(s.value.clone())),
            error_details: None,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomSettingsInformation {
    custom_settings: Vec<NameValue>,
}

/// Items are read loosely so that one bad item is reported on its own.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomSettingsIn {
    #[schema(value_type = Option<Vec<Object>>)]
    custom_settings: Option<Vec<Value>>,
}

fn group(headers: &HeaderMap) -> Result<String, Error> {
    let raw = headers
        .get(&SETTINGS_KEY)
        .map(|v| v.to_str().map_err(|_| Error::invalid("X-DocuSign-User-Settings-Key", "must be visible ASCII")));
    group_key(raw.transpose()?)
}

/// Checks each item: a non-empty string name, not repeated, and (unless
/// `names_only`) a string value. Returns the good settings and, per item,
/// its echo with `errorDetails` when it failed.
pub fn check_items(items: &[Value], names_only: bool) -> (Vec<CustomSetting>, Vec<NameValue>) {
    let mut seen = HashSet::new();
    let mut good = Vec::new();
    let mut echo = Vec::with_capacity(items.len());
    for item in items {
        let name = item.get("name").cloned();
        let value = item.get("value").cloned();
        let checked = match (&name, &value) {
            (Some(Value::String(n)), _) if n.trim().is_empty() => Err(Error::invalid("name", "must not be empty")),
            (Some(Value::String(n)), _) if !seen.insert(n.clone()) => {
                Err(Error::invalid("name", format!("'{n}' appears more than once in this request")))
            }
            (Some(Value::String(n)), Some(Value::String(v))) => Ok(CustomSetting { name: n.clone(), value: v.clone() }),
            (Some(Value::String(n)), _) if names_only => Ok(CustomSetting { name: n.clone(), value: String::new() }),
            (Some(Value::String(_)), _) => Err(Error::invalid("value", "must be a string")),
            _ => Err(Error::invalid("name", "is required and must be a string")),
        };
        match checked {
            Ok(setting) => {
                echo.push(if names_only {
                    NameValue { name, ..Default::default() }
                } else {
                    NameValue::from(&setting)
                });
                good.push(setting);
            }
            Err(e) => echo.push(NameValue { name, value, error_details: Some(ErrorDetails::from(&e)) }),
        }
    }
    (good, echo)
}

/// `GET`: the settings of the header's group (or the ungrouped ones), with an `ETag`.
#[utoipa::path(get, path = "/accounts/{accountId}/users/{userId}/custom_settings", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID"), ("X-DocuSign-User-Settings-Key" = Option<String>, Header)), responses((status = 200, body = CustomSettingsInformation), (status = 304, description = "Not modified"), DocuSignErrors), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let user = target_user(path.get("userId"), |id| ctx.actor.ensure_can_read_user(id))?;
    let group = group(&headers)?;
    let key = DocumentKey::Custom { account: ctx.account.id, user, group: group.clone() };
    let document = state.cache.document(&ctx.view, key, async {
        let settings = state.store.custom_settings(ctx.account.id, user, &group).await?;
        let body = CustomSettingsInformation { custom_settings: settings.iter().map(Into::into).collect() };
        Ok::<_, Error>(Document::new(content_tag(&settings), &body))
    });
    Ok(document.await?.respond(&headers))
}

/// `PUT`: adds or updates by name in the header's group; bad items are
/// reported one by one; a result over the size limit is refused whole.
#[utoipa::path(put, path = "/accounts/{accountId}/users/{userId}/custom_settings", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID"), ("X-DocuSign-User-Settings-Key" = Option<String>, Header)), request_body = CustomSettingsIn, responses((status = 200, body = CustomSettingsInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CustomSettingsIn>,
) -> Response {
    settings_write(change(state, ctx, path, headers, body, false).await)
}

/// `DELETE`: removes the named settings from the header's group.
#[utoipa::path(delete, path = "/accounts/{accountId}/users/{userId}/custom_settings", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID"), ("X-DocuSign-User-Settings-Key" = Option<String>, Header)), request_body = CustomSettingsIn, responses((status = 200, body = CustomSettingsInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CustomSettingsIn>,
) -> Response {
    settings_write(change(state, ctx, path, headers, body, true).await)
}

async fn change(
    state: AppState,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    body: CustomSettingsIn,
    delete: bool,
) -> ApiResult<Response> {
    let user = target_user(path.get("userId"), |id| ctx.actor.ensure_can_update_user(id))?;
    let group = group(&headers)?;
    let items = body.custom_settings.ok_or_else(|| Error::invalid("customSettings", "is required"))?;
    if items.len() > MAX_ITEMS {
        return Err(Error::invalid(
            "customSettings",
            format!("lists {} items; the limit is {MAX_ITEMS} per request", items.len()),
        )
        .into());
    }
    let (good, echo) = check_items(&items, delete);
    let change =
        if delete { CustomChange::Delete(good.into_iter().map(|s| s.name).collect()) } else { CustomChange::Put(good) };
    let after = state.store.change_custom_settings(&ctx.actor, user, &group, change, if_match(&headers)).await?;
    Ok(tagged(&content_tag(&after), Json(CustomSettingsInformation { custom_settings: echo })))
}
