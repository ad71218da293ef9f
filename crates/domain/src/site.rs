//! Site-wide settings: the business security settings (Akana's
//! `BusinessSecuritySettings`) and the catalog of notification groups.

use serde::{Deserialize, Serialize};

use crate::Error;

/// The notification groups every site starts with (Akana's documented values).
pub const BUILTIN_NOTIFICATION_GROUPS: &[&str] = &[
    "com.soa.notification.type.ticket.change",
    "com.soa.notification.type.app.alert",
    "com.soa.notification.type.post.comment",
    "com.soa.notification.type.contract.state.change",
    "com.soa.notification.type.appteam",
    "com.soa.notification.type.app.lifecycle",
    "com.soa.notification.type.news.update",
    "com.soa.notification.type.app.post",
];

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

impl SameSite {
    pub fn parse(s: &str) -> Option<SameSite> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" => Some(SameSite::Strict),
            "lax" => Some(SameSite::Lax),
            "none" => Some(SameSite::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Security settings of the site business. Switches are typed; the few
/// free-text settings are kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecuritySettings {
    /// CSRF header required on GET requests of cookie sessions.
    pub read_request_csrf: bool,
    /// CSRF header required on POST, PUT and DELETE of cookie sessions.
    pub write_request_csrf: bool,
    pub allow_user_enum: bool,
    pub encrypt_challenge_answers: bool,
    pub challenge_count: i64,
    /// Users may change their own email.
    pub user_modify_email: bool,
    /// A site admin may change other users' emails.
    pub site_admin_modify_email: bool,
    pub auth_token_cookie_domain: String,
    pub auth_token_cookie_same_site: SameSite,
    pub captcha_support: bool,
    pub captcha_site_key: Option<String>,
    pub captcha_site_secret: Option<String>,
    pub external_doc_support: bool,
    pub xss_keywords: String,
    pub allowed_file_types: String,
    pub white_list_keywords: String,
    pub white_list_keywords_support: bool,
    pub allowed_file_types_strict_policy: bool,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            read_request_csrf: false,
            write_request_csrf: true,
            allow_user_enum: true,
            encrypt_challenge_answers: false,
            challenge_count: 3,
            user_modify_email: true,
            site_admin_modify_email: true,
            auth_token_cookie_domain: "com.soa.auth.token.cookie.domain.hostname".into(),
            auth_token_cookie_same_site: SameSite::Lax,
            captcha_support: false,
            captcha_site_key: None,
            captcha_site_secret: None,
            external_doc_support: true,
            xss_keywords: "onload,onerror,onmouseout,onmouseover,eval".into(),
            allowed_file_types:
                "text/plain,text/x-yaml,application/json,application/xml,application/wsdl+xml,image/png,\
                                 image/jpeg,application/pdf,application/zip,image/bmp,image/gif"
                    .into(),
            white_list_keywords: "/#[]()'\":;?!_<=>@`~&*$".into(),
            white_list_keywords_support: true,
            allowed_file_types_strict_policy: true,
        }
    }
}

impl SecuritySettings {
    pub fn csrf_enabled(&self) -> bool {
        self.read_request_csrf || self.write_request_csrf
    }

    /// Whether `actor` may change `target`'s email under these settings.
    pub fn may_change_email(&self, actor_is_target: bool, actor_is_site_admin: bool) -> bool {
        (actor_is_target && self.user_modify_email) || (actor_is_site_admin && self.site_admin_modify_email)
    }
}

/// Checks opted-in groups against the catalog: unknown values are refused,
/// all named at once; duplicates collapse. The result follows catalog order.
pub fn opted_groups(catalog: &[String], requested: &[String]) -> Result<Vec<String>, Error> {
    let unknown: Vec<&str> = requested.iter().filter(|g| !catalog.contains(g)).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(Error::invalid(
            "OptedNotification",
            format!("unknown notification groups: {}", unknown.join(", ")),
        ));
    }
    Ok(catalog.iter().filter(|g| requested.contains(g)).cloned().collect())
}

/// A new notification group name: dotted, like the built-in ones.
pub fn notification_group_name(raw: &str) -> Result<String, Error> {
    let v = raw.trim();
    let ok =
        !v.is_empty() && v.len() <= 200 && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(Error::invalid("Name", "must be 1 to 200 letters, digits, dots, underscores or dashes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_reference() {
        let s = SecuritySettings::default();
        assert!(!s.read_request_csrf && s.write_request_csrf && s.user_modify_email);
        assert_eq!(s.auth_token_cookie_same_site, SameSite::Lax);
    }

    #[test]
    fn email_changes_follow_the_two_switches() {
        let mut s = SecuritySettings::default();
        assert!(s.may_change_email(true, false));
        s.user_modify_email = false;
        assert!(!s.may_change_email(true, false));
        assert!(s.may_change_email(false, true));
        s.site_admin_modify_email = false;
        assert!(!s.may_change_email(false, true));
        assert!(!s.may_change_email(true, true));
    }

    #[test]
    fn opted_groups_are_checked_against_the_catalog() {
        let catalog: Vec<String> = BUILTIN_NOTIFICATION_GROUPS.iter().map(|s| s.to_string()).collect();
        let asked = vec![catalog[3].clone(), catalog[1].clone(), catalog[3].clone()];
        assert_eq!(opted_groups(&catalog, &asked).unwrap(), vec![catalog[1].clone(), catalog[3].clone()]);
        let err = opted_groups(&catalog, &["x.y".into(), "z".into()]).unwrap_err();
        assert_eq!(err, Error::invalid("OptedNotification", "unknown notification groups: x.y, z"));
    }
}
