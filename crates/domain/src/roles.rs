//! Permission profiles: `accountRoleSettings` (what a profile allows) and
//! the capabilities Roster's authorization derives from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::BuiltinProfile;
use crate::policy::Capabilities;
use crate::settings::{Access, Field, Kind, SettingsPatch, Value};
use crate::Error;

pub const ADDRESS_BOOK_ACCESS: &[&str] = &["personal", "useShared", "usePersonalAndShared", "personalAndShared"];
pub const TEMPLATE_ACCESS: &[&str] = &["none", "use", "create", "share"];
pub const POWER_FORM_ROLES: &[&str] = &["none", "user", "admin"];
pub const GRANULAR: &[&str] = &[
    "allowManageAccountSecuritySettings",
    "allowManageAccountSettings",
    "allowManageAdmins",
    "allowManageConnect",
    "allowManageDocumentRetention",
    "allowManageEnvelopeTransfer",
    "allowManageGroupsButNotUsers",
    "allowManageJointAgreements",
    "allowManageReporting",
    "allowManageSharing",
    "allowManageSigningGroups",
    "allowManageStamps",
    "allowManageUsers",
    "allowViewUsers",
];

const fn f(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, access: Access::Preference, metadata: true }
}

use Kind::Flag as B;

/// Every role setting: the 2022 spec's 37, plus `accountManagementGranular`
/// as SDK 6.1.0 models it.
pub const ROLE_FIELDS: &[Field] = &[
    Field {
        name: "accountManagementGranular",
        kind: Kind::Flags(GRANULAR),
        access: Access::Preference,
        metadata: false,
    },
    f("allowAccountManagement", B),
    f("allowApiAccess", B),
    f("allowApiAccessToAccount", B),
    f("allowApiSendingOnBehalfOfOthers", B),
    f("allowApiSequentialSigning", B),
    f("allowAutoTagging", B),
    f("allowBulkSending", B),
    f("allowDocuSignDesktopClient", B),
    f("allowedAddressBookAccess", Kind::Choice(ADDRESS_BOOK_ACCESS)),
    f("allowedClickwrapsAccess", Kind::Text(50)),
    f("allowedTemplateAccess", Kind::Choice(TEMPLATE_ACCESS)),
    f("allowedToBeEnvelopeTransferRecipient", B),
    f("allowEnvelopeSending", B),
    f("allowESealRecipients", B),
    f("allowPowerFormsAdminToAccessAllPowerFormEnvelopes", B),
    f("allowSendersToSetRecipientEmailLanguage", B),
    f("allowSignerAttachments", B),
    f("allowSupplementalDocuments", B),
    f("allowTaggingInSendAndCorrect", B),
    f("allowVaulting", B),
    f("allowWetSigningOverride", B),
    f("canCreateWorkspaces", B),
    f("canSendEnvelopesViaSMS", B),
    f("disableDocumentUpload", B),
    f("disableOtherActions", B),
    f("enableApiRequestLogging", B),
    f("enableRecipientViewingNotifications", B),
    f("enableSequentialSigningInterface", B),
    f("enableTransactionPointIntegration", B),
    f("powerFormRole", Kind::Choice(POWER_FORM_ROLES)),
    f("receiveCompletedSelfSignedDocumentsAsEmailLinks", B),
    f("supplementalDocumentsMustAccept", B),
    f("supplementalDocumentsMustRead", B),
    f("supplementalDocumentsMustView", B),
    f("useNewDocuSignExperienceInterface", B),
    f("useNewSendingInterface", B),
    f("vaultingMode", Kind::Choice(crate::settings::VAULTING_MODES)),
];

/// The settings a profile sets explicitly; the rest come from its kind's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoleSettings(pub BTreeMap<String, Value>);

fn defaults(builtin: Option<BuiltinProfile>) -> BTreeMap<&'static str, Value> {
    let admin = builtin == Some(BuiltinProfile::Administrator);
    let sends = matches!(builtin, Some(BuiltinProfile::Administrator | BuiltinProfile::Sender));
    let mut out = BTreeMap::new();
    for field in ROLE_FIELDS {
        let v = match field.kind {
            Kind::Flag => Value::Flag(false),
            Kind::Flags(keys) => Value::Flags(keys.iter().map(|k| (k.to_string(), admin)).collect()),
            _ => continue,
        };
        out.insert(field.name, v);
    }
    let text = |s: &str| Value::Text(s.to_owned());
    out.insert("allowAccountManagement", Value::Flag(admin));
    for k in ["allowEnvelopeSending", "allowApiAccess", "allowApiAccessToAccount", "allowSignerAttachments"] {
        out.insert(k, Value::Flag(sends));
    }
    out.insert("allowBulkSending", Value::Flag(admin));
    out.insert(
        "allowedTemplateAccess",
        text(if admin {
            "share"
        } else if sends {
            "create"
        } else {
            "none"
        }),
    );
    out.insert("allowedAddressBookAccess", text(if sends { "usePersonalAndShared" } else { "personal" }));
    out.insert(
        "powerFormRole",
        text(if admin {
            "admin"
        } else if sends {
            "user"
        } else {
            "none"
        }),
    );
    out.insert("vaultingMode", text("none"));
    out
}

impl RoleSettings {
    /// Every setting of a profile: its kind's defaults, then what it sets.
    pub fn effective(&self, builtin: Option<BuiltinProfile>) -> BTreeMap<&'static str, Value> {
        let mut out = defaults(builtin);
        for (name, v) in &self.0 {
            let Some(field) = ROLE_FIELDS.iter().find(|f| f.name == name) else { continue };
            match (out.get_mut(field.name), v) {
                (Some(Value::Flags(base)), Value::Flags(set)) => base.extend(set.clone()),
                _ => {
                    out.insert(field.name, v.clone());
                }
            }
        }
        out
    }

    /// Merges a validated patch: absent settings stay as they are (clients
    /// whose models lag drop fields on a read-modify-write).
    pub fn merge(&mut self, patch: SettingsPatch) {
        for (name, value) in patch {
            match (self.0.get_mut(name), value) {
                (Some(Value::Flags(stored)), Value::Flags(set)) => stored.extend(set),
                (_, value) => {
                    self.0.insert(name.to_owned(), value);
                }
            }
        }
    }

    /// What members holding this profile may do in their account.
    /// Reads the two settings that decide, as [`RoleSettings::effective`]
    /// would give them, without building the other defaults (every request
    /// that reads a member needs this).
    pub fn capabilities(&self, builtin: Option<BuiltinProfile>) -> Capabilities {
        let admin = builtin == Some(BuiltinProfile::Administrator);
        let granular = |k: &str| {
            let default = admin && GRANULAR.contains(&k);
            match self.0.get("accountManagementGranular") {
                None => default,
                Some(Value::Flags(set)) => set.get(k).copied().unwrap_or(default),
                Some(_) => false,
            }
        };
        let manage_account = self.0.get("allowAccountManagement").map_or(admin, |v| *v == Value::Flag(true));
        Capabilities::from_rights(manage_account, granular)
    }
}

/// A permission profile's name: required, at most 100 characters, one line.
pub fn profile_name(raw: &str) -> Result<String, Error> {
    crate::validate::required_text("permissionProfileName", raw, 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn builtin_profiles_have_the_expected_capabilities() {
        let none = RoleSettings::default();
        assert_eq!(none.capabilities(Some(BuiltinProfile::Administrator)), Capabilities::from_account_management(true));
        assert_eq!(none.capabilities(Some(BuiltinProfile::Sender)), Capabilities::default());
        assert_eq!(none.capabilities(Some(BuiltinProfile::Viewer)), Capabilities::default());
        let e = none.effective(Some(BuiltinProfile::Viewer));
        assert_eq!(e["allowEnvelopeSending"], Value::Flag(false));
        assert_eq!(none.effective(Some(BuiltinProfile::Sender))["allowEnvelopeSending"], Value::Flag(true));
    }

    #[test]
    fn granular_rights_give_partial_capabilities() {
        let mut s = RoleSettings::default();
        s.merge(SettingsPatch::from([(
            "accountManagementGranular",
            Value::Flags(BTreeMap::from([("allowViewUsers".to_string(), true)])),
        )]));
        let caps = s.capabilities(None);
        assert!(caps.view_users && !caps.manage_users && !caps.manage_groups && !caps.manage_account);
        s.merge(SettingsPatch::from([(
            "accountManagementGranular",
            Value::Flags(BTreeMap::from([("allowManageGroupsButNotUsers".to_string(), true)])),
        )]));
        let caps = s.capabilities(None);
        assert!(caps.view_users && caps.manage_groups && !caps.manage_users, "flags merge key by key");
        assert!(Capabilities::from_account_management(true).covers(&caps));
        assert!(!caps.covers(&Capabilities::from_account_management(true)));
    }

    /// `capabilities` reads two settings directly; it must agree with the
    /// full effective settings it stands for.
    #[test]
    fn capabilities_agree_with_the_effective_settings() {
        let from_effective = |s: &RoleSettings, builtin: Option<BuiltinProfile>| {
            let e = s.effective(builtin);
            let granular = |k: &str| matches!(e.get("accountManagementGranular"), Some(Value::Flags(g)) if g.get(k) == Some(&true));
            Capabilities::from_rights(matches!(e.get("allowAccountManagement"), Some(Value::Flag(true))), granular)
        };
        let flags = |pairs: &[(&str, bool)]| Value::Flags(pairs.iter().map(|(k, b)| (k.to_string(), *b)).collect());
        let profiles = [
            vec![],
            vec![("allowAccountManagement", Value::Flag(true))],
            vec![("allowAccountManagement", Value::Flag(false))],
            vec![("allowAccountManagement", Value::Text("true".into()))],
            vec![("accountManagementGranular", flags(&[("allowViewUsers", true)]))],
            vec![("accountManagementGranular", flags(&[("allowManageUsers", false), ("allowViewUsers", true)]))],
            vec![("accountManagementGranular", flags(&[("allowManageGroupsButNotUsers", true)]))],
            vec![("accountManagementGranular", Value::Flag(true))],
        ];
        for settings in profiles {
            let s = RoleSettings(settings.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
            for builtin in
                [None, Some(BuiltinProfile::Administrator), Some(BuiltinProfile::Sender), Some(BuiltinProfile::Viewer)]
            {
                assert_eq!(s.capabilities(builtin), from_effective(&s, builtin), "{s:?} as {builtin:?}");
            }
        }
    }

    #[test]
    fn the_schema_has_the_spec_s_fields() {
        assert_eq!(ROLE_FIELDS.len(), 38);
    }
}
