//! User settings: a schema of about 65 named settings (DocuSign's
//! `userSettingsInformation` vocabulary), typed values, defaults, and the
//! rules for changing them. Values are typed here (`bool`, `i64`); how a
//! client spells them on the wire is the API's business.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::model::Timestamp;
use crate::policy::Capabilities;
use crate::Error;

/// What kind of value a setting holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Flag,
    Choice(&'static [&'static str]),
    /// Free text of at most this many characters.
    Text(usize),
    Number {
        min: i64,
        max: i64,
    },
    /// An object of named flags (e.g. `senderEmailNotifications`).
    Flags(&'static [&'static str]),
    /// An object of free strings (`localePolicy`).
    Strings,
    /// An array of `{sealDisplayName, sealName}`.
    Seals,
}

/// Who may change a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The user itself (and whoever manages it).
    Preference,
    /// Grants the user a capability: only someone who manages users may change it.
    Right,
    /// Set by the server or derived from the permission profile; ignored on input.
    ReadOnly,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub access: Access,
    /// Whether the field has a `...Metadata` twin on the wire.
    pub metadata: bool,
}

pub const LOCALES: &[&str] = &["zh_CN", "zh_TW", "nl", "en", "fr", "de", "it", "ja", "ko", "pt", "pt_BR", "ru", "es"];
pub const POWER_FORM_MODES: &[&str] = &["none", "admin", "user"];
pub const VAULTING_MODES: &[&str] = &["none", "estored", "electronic_original"];
pub const SELF_SIGNED_DOCUMENT: &[&str] = &["include_pdf", "include_link"];
pub const TIMEZONES: &[&str] = &[
    "tz_01_afghanistan",
    "tz_02_alaskan",
    "tz_03_arab",
    "tz_04_arabian",
    "tz_05_arabic",
    "tz_06_argentina",
    "tz_07_atlantic",
    "tz_08_aus_central",
    "tz_09_aus_eastern",
    "tz_10_azerbaijan",
    "tz_11_azores",
    "tz_12_bangladesh",
    "tz_13_canada_central",
    "tz_14_cape_verde",
    "tz_15_caucasus",
    "tz_16_central_australia",
    "tz_17_central_america",
    "tz_18_central_asia",
    "tz_19_central_brazilian",
    "tz_20_central_europe",
    "tz_21_central_european",
    "tz_22_central_pacific",
    "tz_23_central",
    "tz_24_central_mexico",
    "tz_25_china",
    "tz_26_dateline",
    "tz_27_east_africa",
    "tz_28_east_australia",
    "tz_29_east_europe",
    "tz_30_east_south_america",
    "tz_31_eastern",
    "tz_32_egypt",
    "tz_33_ekaterinburg",
    "tz_34_fiji",
    "tz_35_fli",
    "tz_36_georgian",
    "tz_37_gmt",
    "tz_38_greenland",
    "tz_39_greenwich",
    "tz_40_gtb",
    "tz_41_hawaiian",
    "tz_42_india",
    "tz_43_iran",
    "tz_44_israel",
    "tz_45_jordan",
    "tz_46_kaliningrad",
    "tz_47_kamchatka",
    "tz_48_korea",
    "tz_49_magadan",
    "tz_50_mauritius",
    "tz_51_mid_atlantic",
    "tz_52_middle_east",
    "tz_53_montevideo",
    "tz_54_morocco",
    "tz_55_mountain",
    "tz_56_mountain_mexico",
    "tz_57_myanmar",
    "tz_58_north_central_asia",
    "tz_59_namibia",
    "tz_60_nepal",
    "tz_61_new_zealand",
    "tz_62_new_foundland",
    "tz_63_north_asia_east",
    "tz_64_north_asia",
    "tz_65_pacific_sa",
    "tz_66_pacific",
    "tz_67_pacific_mexico",
    "tz_68_pakistan",
    "tz_69_paraguay",
    "tz_70_romance",
    "tz_71_russian",
    "tz_72_sa_eastern",
    "tz_73_sa_pacific",
    "tz_74_sa_western",
    "tz_75_samoa",
    "tz_76_se_asia",
    "tz_77_singapore",
    "tz_78_south_africa",
    "tz_79_sriLanka",
    "tz_80_syria",
    "tz_81_taipei",
    "tz_82_tasmania",
    "tz_83_tokyo",
    "tz_84_tonga",
    "tz_85_turkey",
    "tz_86_ulaanbaatar",
    "tz_87_us_eastern",
    "tz_88_us_mountain",
    "tz_89_venezuela",
    "tz_90_vladivostok",
    "tz_91_west_australia",
    "tz_92_west_central_africa",
    "tz_93_west_europe",
    "tz_94_west_asia",
    "tz_95_west_pacific",
    "tz_96_yakutsk",
];
pub const SENDER_NOTIFICATIONS: &[&str] = &[
    "changedSigner",
    "clickwrapResponsesLimitNotificationEmail",
    "commentsOnlyPrivateAndMention",
    "commentsReceiveAll",
    "deliveryFailed",
    "envelopeComplete",
    "offlineSigningFailed",
    "powerformResponsesLimitNotificationEmail",
    "purgeDocuments",
    "recipientViewed",
    "senderEnvelopeDeclined",
    "withdrawnConsent",
];
pub const SIGNER_NOTIFICATIONS: &[&str] = &[
    "agentNotification",
    "carbonCopyNotification",
    "certifiedDeliveryNotification",
    "commentsOnlyPrivateAndMention",
    "commentsReceiveAll",
    "documentMarkupActivation",
    "envelopeActivation",
    "envelopeComplete",
    "envelopeCorrected",
    "envelopeDeclined",
    "envelopeVoided",
    "faxReceived",
    "offlineSigningFailed",
    "purgeDocuments",
    "reassignedSigner",
    "whenSigningGroupMember",
];
pub const ACCOUNT_MANAGEMENT_GRANULAR: &[&str] = &[
    "canManageAccountSecuritySettings",
    "canManageAccountSettings",
    "canManageAdmins",
    "canManageConnect",
    "canManageDocumentRetention",
    "canManageEnvelopeTransfer",
    "canManageGroupsButNotUsers",
    "canManageReporting",
    "canManageSharing",
    "canManageSigningGroups",
    "canManageUsers",
    "canViewUsers",
];

const fn f(name: &'static str, kind: Kind, access: Access, metadata: bool) -> Field {
    Field { name, kind, access, metadata }
}

use Access::{Preference as P, ReadOnly as RO, Right as R};
use Kind::Flag as B;

/// Every user setting, in the spec's order.
pub const USER_FIELDS: &[Field] = &[
    f("accountManagementGranular", Kind::Flags(ACCOUNT_MANAGEMENT_GRANULAR), RO, false),
    f("adminOnly", B, RO, true),
    f("allowAutoTagging", B, P, false),
    f("allowEnvelopeTransferTo", B, R, true),
    f("allowEsealRecipients", B, R, true),
    f("allowPowerFormsAdminToAccessAllPowerFormEnvelope", B, R, true),
    f("allowRecipientLanguageSelection", B, R, true),
    f("allowSendOnBehalfOf", B, R, true),
    f("allowSupplementalDocuments", B, R, true),
    f("anchorTagVersionedPlacementEnabled", B, R, false),
    f("apiAccountWideAccess", B, R, true),
    f("apiCanExportAC", B, R, true),
    f("bulkSend", B, R, true),
    f("canChargeAccount", B, R, true),
    f("canEditSharedAddressbook", B, R, true),
    f("canLockEnvelopes", B, R, true),
    f("canManageAccount", B, RO, true),
    f("canManageDistributor", B, R, true),
    f("canManageTemplates", B, R, true),
    f("canSendAPIRequests", B, R, true),
    f("canSendEnvelope", B, R, true),
    f("canSendEnvelopesViaSMS", B, R, true),
    f("canSignEnvelope", B, R, true),
    f("canUseScratchpad", B, R, true),
    f("canUseSmartContracts", B, R, true),
    f("disableDocumentUpload", B, R, true),
    f("disableOtherActions", B, R, true),
    f("enableDSPro", B, R, true),
    f("enableSequentialSigningAPI", B, R, true),
    f("enableSequentialSigningUI", B, R, true),
    f("enableSignerAttachments", B, R, true),
    f("enableSignOnPaperOverride", B, R, true),
    f("enableTransactionPoint", B, R, true),
    f("enableVaulting", B, R, true),
    f("expressSendOnly", B, R, false),
    f("locale", Kind::Choice(LOCALES), P, true),
    f("localePolicy", Kind::Strings, P, false),
    f("manageClickwrapsMode", B, R, true),
    f("modifiedBy", Kind::Text(64), RO, true),
    f("modifiedDate", Kind::Text(64), RO, true),
    f("modifiedPage", Kind::Text(256), RO, true),
    f("newSendUI", B, R, true),
    f("powerFormMode", Kind::Choice(POWER_FORM_MODES), R, true),
    f("recipientViewedNotification", B, P, true),
    f("sealIdentifiers", Kind::Seals, R, false),
    f("selfSignedRecipientEmailDocument", Kind::Choice(SELF_SIGNED_DOCUMENT), R, true),
    f("senderEmailNotifications", Kind::Flags(SENDER_NOTIFICATIONS), P, false),
    f("signerEmailNotifications", Kind::Flags(SIGNER_NOTIFICATIONS), P, false),
    f("supplementalDocumentIncludeInDownload", B, P, false),
    f("supplementalDocumentsMustAccept", B, R, true),
    f("supplementalDocumentsMustRead", B, R, true),
    f("supplementalDocumentsMustView", B, R, true),
    f("templateActiveCreation", B, P, true),
    f("templateApplyNotify", B, P, true),
    f("templateAutoMatching", B, P, true),
    f("templateMatchingSensitivity", Kind::Number { min: 0, max: 100 }, P, true),
    f("templatePageLevelMatching", B, P, true),
    f("timezoneDST", B, P, true),
    f("timezoneMask", Kind::Text(100), P, true),
    f("timezoneOffset", Kind::Choice(TIMEZONES), P, true),
    f("timezoneSendingPref", Kind::Text(100), P, true),
    f("timezoneSigningPref", Kind::Text(100), P, true),
    f("transactionPointSiteNameURL", Kind::Text(500), R, true),
    f("transactionPointUserName", Kind::Text(100), R, true),
    f("vaultingMode", Kind::Choice(VAULTING_MODES), R, true),
];

/// A field of a schema by name.
pub fn field_in(fields: &'static [Field], name: &str) -> Option<&'static Field> {
    fields.iter().find(|f| f.name == name)
}

pub fn field(name: &str) -> Option<&'static Field> {
    field_in(USER_FIELDS, name)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seal {
    pub seal_display_name: Option<String>,
    pub seal_name: Option<String>,
}

/// A typed setting value. Read back by [`ValueVisitor`]: serde's derived
/// untagged reading buffers every value and tries each variant in turn,
/// and every read of a member reads its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Flag(bool),
    Number(i64),
    Text(String),
    Flags(BTreeMap<String, bool>),
    Strings(BTreeMap<String, String>),
    Seals(Vec<Seal>),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Reads what [`Value`]'s untagged serialization wrote: a bool, a whole
/// number, a string, an object of flags or of strings (an empty one is
/// flags), or a list of seals.
struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a setting value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Flag(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Value, E> {
        i64::try_from(n).map(Value::Number).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Text(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Text(s))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let (mut flags, mut strings) = (BTreeMap::new(), BTreeMap::new());
        while let Some((key, entry)) = map.next_entry::<String, FlagOrText>()? {
            match entry {
                FlagOrText::Flag(b) => flags.insert(key, b).map(drop),
                FlagOrText::Text(s) => strings.insert(key, s).map(drop),
            };
        }
        match (flags.is_empty(), strings.is_empty()) {
            (_, true) => Ok(Value::Flags(flags)),
            (true, false) => Ok(Value::Strings(strings)),
            (false, false) => Err(serde::de::Error::custom("an object of settings mixes flags and strings")),
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut seals = Vec::new();
        while let Some(seal) = seq.next_element::<Seal>()? {
            seals.push(seal);
        }
        Ok(Value::Seals(seals))
    }
}

/// One entry of an object-valued setting.
enum FlagOrText {
    Flag(bool),
    Text(String),
}

impl<'de> Deserialize<'de> for FlagOrText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FlagOrText, D::Error> {
        struct Entry;
        impl serde::de::Visitor<'_> for Entry {
            type Value = FlagOrText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false or a string")
            }
            fn visit_bool<E>(self, b: bool) -> Result<FlagOrText, E> {
                Ok(FlagOrText::Flag(b))
            }
            fn visit_str<E>(self, s: &str) -> Result<FlagOrText, E> {
                Ok(FlagOrText::Text(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<FlagOrText, E> {
                Ok(FlagOrText::Text(s))
            }
        }
        d.deserialize_any(Entry)
    }
}

/// The values a user set explicitly (everything else is a default), and who
/// changed them last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSettings {
    pub values: BTreeMap<String, Value>,
    pub modified_by: Option<UserId>,
    pub modified_at: Option<Timestamp>,
}

/// A validated change: settings to set (objects of flags merge key by key).
pub type SettingsPatch = BTreeMap<&'static str, Value>;

fn default_value(field: &Field) -> Option<Value> {
    match (field.name, field.kind) {
        ("canSendEnvelope" | "canSignEnvelope" | "canSendAPIRequests", _) => Some(Value::Flag(true)),
        ("locale", _) => Some(Value::Text("en".into())),
        ("powerFormMode" | "vaultingMode", _) => Some(Value::Text("none".into())),
        ("selfSignedRecipientEmailDocument", _) => Some(Value::Text("include_pdf".into())),
        ("senderEmailNotifications" | "signerEmailNotifications", Kind::Flags(keys)) => {
            Some(Value::Flags(keys.iter().map(|k| (k.to_string(), true)).collect()))
        }
        (_, Kind::Flag) => Some(Value::Flag(false)),
        _ => None,
    }
}

impl UserSettings {
    /// Every setting that has a value: defaults, then what was set, then
    /// what the permission profile decides.
    pub fn effective(&self, caps: &Capabilities) -> BTreeMap<&'static str, Value> {
        let mut out = BTreeMap::new();
        for field in USER_FIELDS {
            if let Some(v) = default_value(field) {
                out.insert(field.name, v);
            }
            if let Some(v) = self.values.get(field.name) {
                match (out.get_mut(field.name), v) {
                    (Some(Value::Flags(base)), Value::Flags(set)) => base.extend(set.clone()),
                    _ => {
                        out.insert(field.name, v.clone());
                    }
                }
            }
        }
        out.insert("canManageAccount", Value::Flag(caps.manage_account));
        out.insert("adminOnly", Value::Flag(false));
        let granular = ACCOUNT_MANAGEMENT_GRANULAR
            .iter()
            .map(|k| {
                let allowed = match *k {
                    "canManageUsers" => caps.manage_users,
                    "canViewUsers" => caps.view_users,
                    "canManageGroupsButNotUsers" => caps.manage_groups,
                    _ => caps.manage_account,
                };
                (k.to_string(), allowed)
            })
            .collect();
        out.insert("accountManagementGranular", Value::Flags(granular));
        if let Some(by) = self.modified_by {
            out.insert("modifiedBy", Value::Text(by.to_string()));
        }
        out
    }

    /// The version tag of [`UserSettings::effective`]: a hash of what they
    /// are computed from (the defaults are fixed), which costs far less than
    /// computing them.
    pub fn tag(&self, caps: &Capabilities) -> String {
        let caps = (caps.manage_account, caps.manage_users, caps.view_users, caps.manage_groups);
        crate::tag::content_tag(&(&self.values, caps, self.modified_by, self.modified_at))
    }

    /// Applies a change. Rights may be changed only by someone who manages
    /// users (`may_change_rights`); restating a right's current value is not
    /// a change. Nothing is applied unless everything is allowed.
    pub fn apply(
        &mut self,
        patch: SettingsPatch,
        caps_of_target: &Capabilities,
        may_change_rights: bool,
        by: UserId,
        now: Timestamp,
    ) -> Result<(), Error> {
        // Built only when a right is restated by someone who may not change it.
        let mut effective = None;
        for (name, value) in &patch {
            let field = field(name).ok_or_else(|| Error::invalid(*name, "is not a user setting"))?;
            if field.access != Access::Right || may_change_rights {
                continue;
            }
            let current = effective.get_or_insert_with(|| self.effective(caps_of_target));
            if current.get(name) != Some(value) {
                let changes = match (current.get(name), value) {
                    (Some(Value::Flags(cur)), Value::Flags(new)) => new.iter().any(|(k, v)| cur.get(k) != Some(v)),
                    _ => true,
                };
                if changes {
                    return Err(Error::Forbidden(format!("{name} can only be changed by a user who manages users")));
                }
            }
        }
        for (name, value) in patch {
            match (self.values.get_mut(name), value) {
                (Some(Value::Flags(stored)), Value::Flags(set)) => stored.extend(set),
                (_, value) => {
                    self.values.insert(name.to_owned(), value);
                }
            }
        }
        self.modified_by = Some(by);
        self.modified_at = Some(now);
        Ok(())
    }
}

/// Checks a typed value against its field's rules; `path` names it in errors.
pub fn validate(field: &Field, value: &Value, path: &str) -> Result<(), Error> {
    match (field.kind, value) {
        (Kind::Flag, Value::Flag(_)) => Ok(()),
        (Kind::Choice(options), Value::Text(v)) => {
            if options.contains(&v.as_str()) {
                Ok(())
            } else if options.len() > 20 {
                Err(Error::invalid(
                    path,
                    format!("'{v}' is not a valid value (for example {})", options[..3].join(", ")),
                ))
            } else {
                Err(Error::invalid(path, format!("'{v}' is not one of {}", options.join(", "))))
            }
        }
        (Kind::Text(max), Value::Text(v)) => {
            if v.chars().count() > max {
                Err(Error::invalid(path, format!("is longer than {max} characters")))
            } else if v.chars().any(char::is_control) {
                Err(Error::invalid(path, "must not contain control characters"))
            } else {
                Ok(())
            }
        }
        (Kind::Number { min, max }, Value::Number(n)) => {
            if (min..=max).contains(n) {
                Ok(())
            } else {
                Err(Error::invalid(path, format!("{n} is not between {min} and {max}")))
            }
        }
        (Kind::Flags(keys), Value::Flags(map)) => match map.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(k) => Err(Error::invalid(format!("{path}.{k}"), "is not a known setting")),
            None => Ok(()),
        },
        (Kind::Strings, Value::Strings(map)) => match map.iter().find(|(_, v)| v.chars().count() > 200) {
            Some((k, _)) => Err(Error::invalid(format!("{path}.{k}"), "is longer than 200 characters")),
            None => Ok(()),
        },
        (Kind::Seals, Value::Seals(seals)) if seals.len() <= 100 => Ok(()),
        (Kind::Seals, Value::Seals(_)) => Err(Error::invalid(path, "lists more than 100 seals")),
        _ => Err(Error::invalid(path, "has the wrong type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_has_the_spec_s_65_fields_once_each() {
        assert_eq!(USER_FIELDS.len(), 65);
        let mut names: Vec<_> = USER_FIELDS.iter().map(|f| f.name).collect();
        names.dedup();
        assert_eq!(names.len(), 65);
        assert_eq!(TIMEZONES.len(), 96);
    }

    #[test]
    fn effective_settings_layer_defaults_values_and_the_profile() {
        let mut s = UserSettings::default();
        let admin = Capabilities::from_account_management(true);
        let e = s.effective(&Capabilities::default());
        assert_eq!(e["locale"], Value::Text("en".into()));
        assert_eq!(e["canManageAccount"], Value::Flag(false));
        let patch = SettingsPatch::from([
            ("locale", Value::Text("fr".into())),
            ("senderEmailNotifications", Value::Flags(BTreeMap::from([("deliveryFailed".into(), false)]))),
        ]);
        s.apply(patch, &Capabilities::default(), false, UserId::new(), Timestamp(1)).unwrap();
        let e = s.effective(&admin);
        assert_eq!(e["locale"], Value::Text("fr".into()));
        assert_eq!(e["canManageAccount"], Value::Flag(true));
        let Value::Flags(n) = &e["senderEmailNotifications"] else { panic!() };
        assert_eq!((n["deliveryFailed"], n["envelopeComplete"]), (false, true), "flag objects merge key by key");
    }

    #[test]
    fn values_read_back_what_they_wrote() {
        let values = [
            Value::Flag(true),
            Value::Number(-7),
            Value::Text("en".into()),
            Value::Flags(BTreeMap::from([("a".to_string(), true), ("b".to_string(), false)])),
            Value::Flags(BTreeMap::new()),
            Value::Strings(BTreeMap::from([("a".to_string(), "x".to_string())])),
            Value::Seals(vec![Seal { seal_display_name: Some("d".into()), seal_name: None }]),
        ];
        for v in values {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), v, "{json}");
        }
        for bad in [r#"{"a":true,"b":"x"}"#, "1.5", "null", r#"{"a":1}"#] {
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rights_need_someone_who_manages_users() {
        let mut s = UserSettings::default();
        let me = Capabilities::default();
        let raise = SettingsPatch::from([("bulkSend", Value::Flag(true))]);
        assert!(matches!(s.apply(raise.clone(), &me, false, UserId::new(), Timestamp(1)), Err(Error::Forbidden(_))));
        assert!(s.values.is_empty(), "nothing applied");
        let restate = SettingsPatch::from([("canSendEnvelope", Value::Flag(true))]);
        assert!(s.apply(restate, &me, false, UserId::new(), Timestamp(1)).is_ok());
        assert!(s.apply(raise, &me, true, UserId::new(), Timestamp(1)).is_ok());
    }

    #[test]
    fn values_are_validated_against_their_field() {
        let locale = field("locale").unwrap();
        assert!(validate(locale, &Value::Text("fr".into()), "locale").is_ok());
        assert!(validate(locale, &Value::Text("xx".into()), "locale").is_err());
        assert!(validate(locale, &Value::Flag(true), "locale").is_err());
        let tz = field("timezoneOffset").unwrap();
        assert!(validate(tz, &Value::Text("tz_96_yakutsk".into()), "timezoneOffset").is_ok());
        let sens = field("templateMatchingSensitivity").unwrap();
        assert!(validate(sens, &Value::Number(101), "t").is_err());
        let n = field("signerEmailNotifications").unwrap();
        let bad = Value::Flags(BTreeMap::from([("nope".into(), true)]));
        assert_eq!(
            validate(n, &bad, "signerEmailNotifications"),
            Err(Error::invalid("signerEmailNotifications.nope", "is not a known setting"))
        );
    }
}
