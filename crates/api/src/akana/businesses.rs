//! `GET|PUT /api/businesses/{BusinessID}/securitysettings`, Site Admin only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use roster_domain::site::{SameSite, SecuritySettings};
use roster_domain::Error;
use serde_json::{Map, Value};

use super::{AkanaError, AkanaErrorBody, AkanaJson, AkanaResult, Caller};
use crate::error::ErrorDetails;
use crate::extract::PathParams;
use crate::AppState;

const ENABLED: &str = "com.soa.feature.enabled";
const DISABLED: &str = "com.soa.feature.disabled";

fn site_business(state: &AppState, caller: &Caller, path: &PathParams) -> AkanaResult<()> {
    caller.require_site_admin()?;
    let expected = format!("tenantbusiness.{}", state.config.tenant);
    if path.get("BusinessID") != expected {
        return Err(AkanaError::new(
            StatusCode::NOT_FOUND,
            "BUSINESS_NOT_FOUND",
            format!("Security settings belong to the site business, {expected}."),
        ));
    }
    Ok(())
}

fn feature(b: bool) -> Value {
    Value::String(if b { ENABLED } else { DISABLED }.to_owned())
}

/// The settings as Akana names them. The CAPTCHA secret is never read back.
fn to_wire(s: &SecuritySettings) -> Map<String, Value> {
    let mut m = Map::new();
    for (name, on) in [
        ("ReadRequestCSRFSupport", s.read_request_csrf),
        ("WriteRequestCSRFSupport", s.write_request_csrf),
        ("AllowUserEnum", s.allow_user_enum),
        ("EncryptChallengeAnswers", s.encrypt_challenge_answers),
        ("UserModifyEmail", s.user_modify_email),
        ("SiteAdminModifyEmail", s.site_admin_modify_email),
        ("CaptchaSupport", s.captcha_support),
        ("ExternalDocSupport", s.external_doc_support),
        ("WhiteListKeywordsSupport", s.white_list_keywords_support),
        ("AllowedFileTypesStrictPolicy", s.allowed_file_types_strict_policy),
    ] {
        m.insert(name.into(), feature(on));
    }
    m.insert("ChallengeCount".into(), Value::from(s.challenge_count));
    m.insert("AuthTokenCookieDomain".into(), Value::String(s.auth_token_cookie_domain.clone()));
    m.insert("AuthTokenCookieSameSite".into(), Value::String(s.auth_token_cookie_same_site.as_str().into()));
    m.insert("XssKeywords".into(), Value::String(s.xss_keywords.clone()));
    m.insert("AllowedFileTypes".into(), Value::String(s.allowed_file_types.clone()));
    m.insert("WhiteListKeywords".into(), Value::String(s.white_list_keywords.clone()));
    if let Some(key) = &s.captcha_site_key {
        m.insert("CaptchaSiteKey".into(), Value::String(key.clone()));
    }
    m
}

/// Applies the settings present in `doc`, each validated and named in errors.
fn apply(s: &mut SecuritySettings, doc: &Map<String, Value>) -> Result<(), Error> {
    for (name, slot) in [
        ("ReadRequestCSRFSupport", &mut s.read_request_csrf),
        ("WriteRequestCSRFSupport", &mut s.write_request_csrf),
        ("AllowUserEnum", &mut s.allow_user_enum),
        ("EncryptChallengeAnswers", &mut s.encrypt_challenge_answers),
        ("UserModifyEmail", &mut s.user_modify_email),
        ("SiteAdminModifyEmail", &mut s.site_admin_modify_email),
        ("CaptchaSupport", &mut s.captcha_support),
        ("ExternalDocSupport", &mut s.external_doc_support),
        ("WhiteListKeywordsSupport", &mut s.white_list_keywords_support),
        ("AllowedFileTypesStrictPolicy", &mut s.allowed_file_types_strict_policy),
    ] {
        match doc.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) if v == ENABLED => *slot = true,
            Some(Value::String(v)) if v == DISABLED => *slot = false,
            Some(other) => return Err(Error::invalid(name, format!("{other} is not {ENABLED} or {DISABLED}"))),
        }
    }
    for (name, slot) in [
        ("AuthTokenCookieDomain", &mut s.auth_token_cookie_domain),
        ("XssKeywords", &mut s.xss_keywords),
        ("AllowedFileTypes", &mut s.allowed_file_types),
        ("WhiteListKeywords", &mut s.white_list_keywords),
    ] {
        match doc.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) if v.chars().count() <= 2000 => slot.clone_from(v),
            Some(_) => return Err(Error::invalid(name, "must be a string of at most 2000 characters")),
        }
    }
    for (name, slot) in [("CaptchaSiteKey", &mut s.captcha_site_key), ("CaptchaSiteSecret", &mut s.captcha_site_secret)]
    {
        match doc.get(name) {
            None => {}
            Some(Value::Null) => *slot = None,
            Some(Value::String(v)) if v.len() <= 500 => *slot = Some(v.clone()),
            Some(_) => return Err(Error::invalid(name, "must be a string of at most 500 characters")),
        }
    }
    match doc.get("ChallengeCount") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            s.challenge_count = n
                .filter(|n| (0..=20).contains(n))
                .ok_or_else(|| Error::invalid("ChallengeCount", format!("{v} is not a whole number from 0 to 20")))?;
        }
    }
    match doc.get("AuthTokenCookieSameSite") {
        None | Some(Value::Null) => {}
        Some(v) => {
            s.auth_token_cookie_same_site = v
                .as_str()
                .and_then(SameSite::parse)
                .ok_or_else(|| Error::invalid("AuthTokenCookieSameSite", format!("{v} is not Strict, Lax or None")))?;
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/businesses/{BusinessID}/securitysettings", tag = "Akana", params(("BusinessID" = String, Path)), responses((status = 200, body = Object), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_security(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> AkanaResult<Json<Map<String, Value>>> {
    site_business(&state, &caller, &path)?;
    Ok(Json(to_wire(&state.store.security_settings().await?)))
}

/// Merges the given settings (all optional); they apply from the next request.
#[utoipa::path(put, path = "/api/businesses/{BusinessID}/securitysettings", tag = "Akana", params(("BusinessID" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = AkanaErrorBody), (status = 401, body = AkanaErrorBody), (status = 404, body = AkanaErrorBody), (status = 409, body = AkanaErrorBody), (status = 413, body = AkanaErrorBody), (status = 415, body = AkanaErrorBody), (status = 422, body = ErrorDetails), (status = 503, body = AkanaErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn put_security(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    AkanaJson(doc): AkanaJson<Map<String, Value>>,
) -> AkanaResult<Json<Map<String, Value>>> {
    site_business(&state, &caller, &path)?;
    let settings = state.store.update_security_settings(|s| apply(s, &doc)).await?;
    Ok(Json(to_wire(&settings)))
}
