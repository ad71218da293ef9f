//! `GET|PUT /accounts/{accountId}/users/{userId}/settings` and the
//! translation of `userSettingsInformation` to and from typed settings.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use roster_domain::model::{Member, View};
use roster_domain::settings::{self, Access, Field, Kind, Seal, SettingsPatch, Value as Setting};
use roster_domain::Error;
use serde_json::{json, Map, Value};

use super::users::target_user;
use super::wire::{ds_date, flag, StrBool};
use crate::cache::{written, Document, DocumentKey, Written};
use crate::error::ApiResult;
use crate::error::DocuSignErrors;
use crate::etag::{if_match, tagged};
use crate::extract::{InAccount, JsonBody, PathParams};
use crate::AppState;

/// Reads a settings object (`userSettingsInformation`, `accountRoleSettings`)
/// of the schema `fields` into a validated patch. Unknown fields,
/// `...Metadata` twins and read-only fields are ignored.
pub fn from_wire(doc: &Map<String, Value>, fields: &'static [Field], prefix: &str) -> Result<SettingsPatch, Error> {
    let mut patch = SettingsPatch::new();
    for (name, raw) in doc {
        let Some(field) = settings::field_in(fields, name) else { continue };
        if field.access == Access::ReadOnly || raw.is_null() {
            continue;
        }
        let path = format!("{prefix}{name}");
        let value = coerce(field.kind, raw, &path)?;
        settings::validate(field, &value, &path)?;
        patch.insert(field.name, value);
    }
    Ok(patch)
}

fn wire_bool(raw: &Value, path: &str) -> Result<bool, Error> {
    match raw {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => {
            StrBool::parse(s).ok_or_else(|| Error::invalid(path, format!("'{s}' is not true or false")))
        }
        _ => Err(Error::invalid(path, "must be true or false")),
    }
}

fn wire_string(raw: &Value, path: &str) -> Result<String, Error> {
    raw.as_str().map(str::to_owned).ok_or_else(|| Error::invalid(path, "must be a string"))
}

fn coerce(kind: Kind, raw: &Value, path: &str) -> Result<Setting, Error> {
    Ok(match kind {
        Kind::Flag => Setting::Flag(wire_bool(raw, path)?),
        Kind::Choice(_) | Kind::Text(_) => Setting::Text(wire_string(raw, path)?),
        Kind::Number { .. } => Setting::Number(match raw {
            Value::Number(n) => n.as_i64().ok_or_else(|| Error::invalid(path, "must be a whole number"))?,
            Value::String(s) => {
                s.trim().parse().map_err(|_| Error::invalid(path, format!("'{s}' is not a whole number")))?
            }
            _ => return Err(Error::invalid(path, "must be a whole number")),
        }),
        Kind::Flags(keys) => {
            let obj = raw.as_object().ok_or_else(|| Error::invalid(path, "must be an object"))?;
            let mut flags = BTreeMap::new();
            for (k, v) in obj.iter().filter(|(k, v)| keys.contains(&k.as_str()) && !v.is_null()) {
                flags.insert(k.clone(), wire_bool(v, &format!("{path}.{k}"))?);
            }
            Setting::Flags(flags)
        }
        Kind::Strings => {
            let obj = raw.as_object().ok_or_else(|| Error::invalid(path, "must be an object"))?;
            let mut strings = BTreeMap::new();
            for (k, v) in obj.iter().filter(|(_, v)| !v.is_null() && !v.is_object()) {
                strings.insert(k.clone(), wire_string(v, &format!("{path}.{k}"))?);
            }
            Setting::Strings(strings)
        }
        Kind::Seals => {
            let items = raw.as_array().ok_or_else(|| Error::invalid(path, "must be an array"))?;
            let mut seals = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let text = |k: &str| -> Result<Option<String>, Error> {
                    item.get(k)
                        .filter(|v| !v.is_null())
                        .map(|v| wire_string(v, &format!("{path}[{i}].{k}")))
                        .transpose()
                };
                seals.push(Seal { seal_display_name: text("sealDisplayName")?, seal_name: text("sealName")? });
            }
            Setting::Seals(seals)
        }
    })
}

/// Writes effective settings of the schema `fields`: flags as
/// `"true"`/`"false"`, numbers as strings, and, when `editable` is given,
/// each field's `...Metadata` twin saying whether the caller may change it.
pub fn document(
    effective: &BTreeMap<&'static str, Setting>,
    fields: &[Field],
    editable: Option<&dyn Fn(&Field) -> bool>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for field in fields {
        if let Some(v) = effective.get(field.name) {
            out.insert(field.name.to_owned(), value_to_wire(v));
        }
        if let Some(editable) = editable.filter(|_| field.metadata) {
            let mut m = json!({
                "rights": if editable(field) { "editable" } else { "read_only" },
                "uiHint": "available",
                "is21CFRPart11": "false",
            });
            if let Kind::Choice(options) = field.kind {
                m["options"] = json!(options);
            }
            out.insert(format!("{}Metadata", field.name), m);
        }
    }
    out
}

/// A member's `userSettingsInformation`; with `metadata`, rights are as the
/// caller (who may or may not manage users) sees them.
pub fn to_wire(member: &Member, caller_manages_users: bool, metadata: bool) -> Map<String, Value> {
    let editable = |field: &Field| match field.access {
        Access::Preference => true,
        Access::Right => caller_manages_users,
        Access::ReadOnly => false,
    };
    let effective = member.settings.effective(&member.profile.caps);
    let mut out = document(&effective, settings::USER_FIELDS, metadata.then_some(&editable as &dyn Fn(&Field) -> bool));
    if let Some(at) = member.settings.modified_at {
        out.insert("modifiedDate".into(), Value::String(ds_date(at)));
    }
    out
}

fn value_to_wire(v: &Setting) -> Value {
    match v {
        Setting::Flag(b) => Value::String(flag(*b)),
        Setting::Number(n) => Value::String(n.to_string()),
        Setting::Text(s) => Value::String(s.clone()),
        Setting::Flags(m) => Value::Object(m.iter().map(|(k, b)| (k.clone(), Value::String(flag(*b)))).collect()),
        Setting::Strings(m) => Value::Object(m.iter().map(|(k, s)| (k.clone(), Value::String(s.clone()))).collect()),
        Setting::Seals(seals) => json!(seals),
    }
}

/// `GET /users/{userId}/settings`, with an `ETag`.
#[utoipa::path(get, path = "/accounts/{accountId}/users/{userId}/settings", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID")), responses((status = 200, body = Object, description = "userSettingsInformation"), (status = 304, description = "Not modified"), DocuSignErrors), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let user = target_user(path.get("userId"), |id| ctx.actor.ensure_can_read_user(id))?;
    let manager = ctx.actor.caps.manage_users;
    let key = DocumentKey::Settings { account: ctx.account.id, user, manager };
    let document = state.cache.document(&ctx.view, key, async {
        let member = state.store.member(ctx.account.id, user).await?;
        Ok::<_, Error>(Document::new(member.tag(View::Settings), &to_wire(&member, manager, true)))
    });
    Ok(document.await?.respond(&headers))
}

/// `PUT /users/{userId}/settings`: merges; 200 with no body.
#[utoipa::path(put, path = "/accounts/{accountId}/users/{userId}/settings", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID"), ("userId" = String, Path, description = "The user GUID")), request_body = Object, responses((status = 200, description = "Saved; no body"), DocuSignErrors), security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    ctx: InAccount,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(doc): JsonBody<Map<String, Value>>,
) -> Response {
    settings_write(
        async {
            let user_id = target_user(path.get("userId"), |id| ctx.actor.ensure_can_update_user(id))?;
            let change = from_wire(&doc, settings::USER_FIELDS, "")?;
            let updated = state.store.update_settings(&ctx.actor, user_id, change, if_match(&headers)).await?;
            Ok(tagged(&updated.tag(), ()))
        }
        .await,
    )
}

/// The answer of a handler whose one write is a transaction of a user's
/// settings or custom settings: when it succeeds it wrote only those
/// ([`Written::DocumentsOnly`]); a client error means the transaction
/// did not commit, so nothing was written. (A server error may follow a
/// commit whose outcome is unknown: it counts as having written anything.)
pub(super) fn settings_write(outcome: ApiResult<Response>) -> Response {
    match outcome {
        Ok(response) => written(Written::DocumentsOnly, response),
        Err(e) => {
            let response = e.into_response();
            let scope = if response.status().is_client_error() { Written::Nothing } else { Written::Anything };
            written(scope, response)
        }
    }
}
