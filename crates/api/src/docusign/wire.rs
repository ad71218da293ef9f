//! DocuSign wire types: exact JSON names, string-typed booleans and numbers,
//! dates with seven fractional digits. The domain never sees these.

use std::fmt;

use roster_domain::model::{Address, Member, Timestamp};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::ErrorDetails;

/// A boolean as DocuSign clients send it: `true`, `"true"`, `"True"`, `"TRUE"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrBool(pub bool);

impl StrBool {
    pub fn parse(s: &str) -> Option<bool> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("true") {
            Some(true)
        } else if s.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        }
    }
}

impl<'de> Deserialize<'de> for StrBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StrBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean: true, false, \"true\" or \"false\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<StrBool, E> {
                Ok(StrBool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrBool, E> {
                StrBool::parse(v).map(StrBool).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// How DocuSign writes a boolean that its spec types as a string.
pub fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

/// An id that clients send as a string or as a number (`"12"` or `12`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdValue(pub String);

impl<'de> Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id as a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdValue, E> {
                Ok(IdValue(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdValue, E> {
                Ok(IdValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdValue, E> {
                Ok(IdValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `2020-05-26T23:25:30.7330000Z`: DocuSign's date-time, seven fractional digits.
pub fn ds_date(t: Timestamp) -> String {
    // Years 1 to 9999, the range the format (and .NET's DateTime) can show.
    const FIRST: i64 = -62_135_596_800_000_000;
    const LAST: i64 = 253_402_300_799_999_999;
    let dt = Timestamp(t.0.clamp(FIRST, LAST)).to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.microsecond() * 10
    )
}

/// .NET's `DateTime.MinValue` as DocuSign prints it on failed items.
pub const MIN_DATE: &str = "0001-01-01T08:00:00.0000000Z";

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressInformation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_or_province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_plus4: Option<String>,
}

impl From<&Address> for AddressInformation {
    fn from(a: &Address) -> Self {
        AddressInformation {
            address1: a.address1.clone(),
            address2: a.address2.clone(),
            city: a.city.clone(),
            country: a.country.clone(),
            fax: a.fax.clone(),
            phone: a.phone.clone(),
            postal_code: a.postal_code.clone(),
            state_or_province: a.state_or_province.clone(),
            zip_plus4: a.zip_plus4.clone(),
        }
    }
}

/// `userInformation` as clients send it (create, update). Unknown fields are
/// ignored; absent fields leave the user unchanged.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInformationIn {
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub suffix_name: Option<String>,
    pub title: Option<String>,
    pub job_title: Option<String>,
    pub company: Option<String>,
    pub country_code: Option<String>,
    pub password: Option<String>,
    pub user_status: Option<String>,
    #[schema(value_type = Option<bool>)]
    pub is_admin: Option<StrBool>,
    #[schema(value_type = Option<String>)]
    pub permission_profile_id: Option<IdValue>,
    pub work_address: Option<AddressInformation>,
    pub home_address: Option<AddressInformation>,
    #[schema(value_type = Option<Object>)]
    pub user_settings: Option<serde_json::Map<String, serde_json::Value>>,
    /// Items are read loosely so that each bad one can be named.
    #[schema(value_type = Option<Vec<Object>>)]
    pub custom_settings: Option<Vec<serde_json::Value>>,
}

/// `userInformation` as Roster answers it.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInformation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<String>,
    #[serde(rename = "isNAREnabled", skip_serializing_if = "Option::is_none")]
    pub is_nar_enabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_remote_notary: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_added_to_account_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_profile_last_modified_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_profile_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_profile_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_activation_on_invalid_login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_connect_for_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_address: Option<AddressInformation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_address: Option<AddressInformation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub user_settings: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_settings: Option<Vec<super::custom_settings::NameValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_list: Option<Vec<super::groups::GroupOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
}

impl From<&Member> for UserInformation {
    fn from(m: &Member) -> Self {
        let u = &m.user;
        UserInformation {
            user_id: Some(u.id.to_string()),
            user_name: Some(u.user_name.clone()),
            email: Some(u.email.clone()),
            first_name: u.names.first_name.clone(),
            middle_name: u.names.middle_name.clone(),
            last_name: u.names.last_name.clone(),
            suffix_name: u.names.suffix_name.clone(),
            title: u.names.title.clone(),
            job_title: u.job_title.clone(),
            company: u.company.clone(),
            country_code: u.country_code.clone(),
            user_status: Some(m.status.as_str()),
            user_type: Some("CompanyUser"),
            is_admin: Some(flag(m.is_admin())),
            is_nar_enabled: Some(flag(false)),
            has_remote_notary: Some(false),
            uri: Some(format!("/users/{}", u.id)),
            created_date_time: Some(ds_date(u.created_at)),
            user_added_to_account_date_time: Some(ds_date(m.added_at)),
            user_profile_last_modified_date: Some(ds_date(u.updated_at)),
            permission_profile_id: Some(m.profile.id.to_string()),
            permission_profile_name: Some(m.profile.name.clone()),
            send_activation_on_invalid_login: Some(flag(false)),
            enable_connect_for_user: Some(flag(false)),
            work_address: u.work_address.as_ref().map(Into::into),
            home_address: u.home_address.as_ref().map(Into::into),
            user_settings: None,
            custom_settings: None,
            group_list: None,
            error_details: None,
        }
    }
}

/// A `newUser` of the create response.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<&'static str>,
    pub created_date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_profile_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_profile_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
}

impl From<&Member> for NewUser {
    fn from(m: &Member) -> Self {
        NewUser {
            user_id: Some(m.user.id.to_string()),
            uri: Some(format!("/users/{}", m.user.id)),
            email: Some(m.user.email.clone()),
            user_name: Some(m.user.user_name.clone()),
            user_status: Some(m.status.as_str()),
            created_date_time: ds_date(m.added_at),
            membership_id: Some(m.membership_id.to_string()),
            permission_profile_id: Some(m.profile.id.to_string()),
            permission_profile_name: Some(m.profile.name.clone()),
            error_details: None,
        }
    }
}

/// A `userInfo` (close response, group members).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
}

impl From<&Member> for UserInfo {
    fn from(m: &Member) -> Self {
        UserInfo {
            user_id: Some(m.user.id.to_string()),
            user_name: Some(m.user.user_name.clone()),
            email: Some(m.user.email.clone()),
            user_status: Some(m.status.as_str()),
            user_type: Some("CompanyUser"),
            uri: Some(format!("/users/{}", m.user.id)),
            membership_id: Some(m.membership_id.to_string()),
            account_id: Some(m.account_id.to_string()),
            error_details: None,
        }
    }
}

/// `{"userId": ...}` items of `userInfoList` requests.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    pub user_id: Option<String>,
}

/// The paging fields shared by list responses; every number is a string and
/// the URIs are relative to `/restapi/v2.1`.
/// Absent altogether on answers that are not pages (bulk updates).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_set_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_set_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
}

impl Paging {
    /// `base` is the list's path, `filters` the original query (without
    /// `start_position` and `count`) that next and previous repeat.
    pub fn new(base: &str, filters: &[(&str, String)], start: u64, count: u64, returned: u64, total: u64) -> Self {
        let uri = |at: u64| {
            let mut q = format!("{base}?start_position={at}&count={count}");
            for (k, v) in filters {
                q.push('&');
                q.push_str(&serde_urlencoded::to_string([(k, v)]).unwrap_or_default());
            }
            q
        };
        Paging {
            result_set_size: Some(returned.to_string()),
            total_set_size: Some(total.to_string()),
            start_position: Some(start.to_string()),
            end_position: (returned > 0).then(|| (start + returned - 1).to_string()),
            next_uri: (start + returned < total && returned > 0).then(|| uri(start + returned)),
            previous_uri: (start > 0).then(|| uri(start.saturating_sub(count))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_booleans_in_any_case() {
        for (json, want) in [("true", true), ("\"True\"", true), ("\"FALSE\"", false), ("false", false)] {
            assert_eq!(serde_json::from_str::<StrBool>(json).unwrap(), StrBool(want), "{json}");
        }
        for bad in ["\"yes\"", "1", "null", "\"\""] {
            assert!(serde_json::from_str::<StrBool>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_have_seven_fraction_digits() {
        let t = Timestamp(1_590_535_530_733_000);
        assert_eq!(ds_date(t), "2020-05-26T23:25:30.7330000Z");
    }

    #[test]
    fn paging_links() {
        let p = Paging::new("/accounts/1/users", &[("status", "Active".into())], 0, 2, 2, 5);
        assert_eq!(p.next_uri.as_deref(), Some("/accounts/1/users?start_position=2&count=2&status=Active"));
        assert_eq!(p.previous_uri, None);
        assert_eq!(p.end_position.as_deref(), Some("1"));
        let last = Paging::new("/accounts/1/users", &[], 4, 2, 1, 5);
        assert_eq!(last.next_uri, None);
        assert_eq!(last.previous_uri.as_deref(), Some("/accounts/1/users?start_position=2&count=2"));
        let empty = Paging::new("/accounts/1/users", &[], 0, 100, 0, 0);
        assert_eq!((empty.next_uri, empty.end_position), (None, None));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// "true"/"false" in any mix of cases.
    fn cased(word: &'static str) -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
            word.chars().zip(upper).map(|(c, u)| if u { c.to_ascii_uppercase() } else { c }).collect()
        })
    }

    proptest! {
        #[test]
        fn string_booleans_in_any_case(b in any::<bool>(), word in cased("true"), other in cased("false")) {
            let s = if b { word } else { other };
            prop_assert_eq!(serde_json::from_value::<StrBool>(serde_json::Value::String(s.clone())).unwrap(), StrBool(b));
            prop_assert_eq!(StrBool::parse(&s), Some(b));
            prop_assert_eq!(serde_json::from_value::<StrBool>(serde_json::Value::Bool(b)).unwrap(), StrBool(b));
        }

        #[test]
        fn anything_else_is_not_a_boolean(s in ".*") {
            let lower = s.trim().to_ascii_lowercase();
            prop_assume!(lower != "true" && lower != "false");
            prop_assert_eq!(StrBool::parse(&s), None);
            prop_assert!(serde_json::from_value::<StrBool>(serde_json::Value::String(s)).is_err());
        }

        #[test]
        fn numbers_are_written_and_read_as_strings(n in any::<u64>(), i in any::<i64>()) {
            prop_assert_eq!(serde_json::from_value::<IdValue>(serde_json::json!(n)).unwrap(), IdValue(n.to_string()));
            prop_assert_eq!(serde_json::from_value::<IdValue>(serde_json::json!(i)).unwrap(), IdValue(i.to_string()));
            prop_assert_eq!(serde_json::from_value::<IdValue>(serde_json::json!(n.to_string())).unwrap(), IdValue(n.to_string()));
            prop_assert!(serde_json::from_value::<IdValue>(serde_json::json!(true)).is_err());
        }

        #[test]
        fn dates_always_have_the_docusign_shape(micros in any::<i64>()) {
            let d = ds_date(Timestamp(micros));
            prop_assert_eq!(d.len(), 28);
            prop_assert!(d.ends_with('Z'));
        }
    }
}
