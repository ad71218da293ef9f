//! The entities. An identity is global (email, names, password); a member is
//! that identity as one account sees it (status, permission profile).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::custom_settings::CustomSetting;
use crate::ids::{AccountId, ProfileId, UserId};
use crate::settings::{SettingsPatch, UserSettings};
use crate::validate::{Email, PasswordHash};
use crate::Error;

/// Microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let now = time::OffsetDateTime::now_utc();
        Timestamp((now.unix_timestamp_nanos() / 1_000) as i64)
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    pub fn to_datetime(self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    ActivationRequired,
    ActivationSent,
    Active,
    Closed,
    Disabled,
}

impl UserStatus {
    pub const ALL: [UserStatus; 5] = [
        UserStatus::ActivationRequired,
        UserStatus::ActivationSent,
        UserStatus::Active,
        UserStatus::Closed,
        UserStatus::Disabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::ActivationRequired => "ActivationRequired",
            UserStatus::ActivationSent => "ActivationSent",
            UserStatus::Active => "Active",
            UserStatus::Closed => "Closed",
            UserStatus::Disabled => "Disabled",
        }
    }

    /// Whether a member in this status may act in its account.
    pub fn can_act(self) -> bool {
        !matches!(self, UserStatus::Closed | UserStatus::Disabled)
    }
}

impl FromStr for UserStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        UserStatus::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            Error::invalid(
                "userStatus",
                format!(
                    "'{}' is not one of ActivationRequired, ActivationSent, Active, Closed, Disabled",
                    crate::ids::truncate(s)
                ),
            )
        })
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub guid: Uuid,
    pub name: String,
    pub created_at: Timestamp,
}

/// A postal address; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub fax: Option<String>,
    pub phone: Option<String>,
    pub postal_code: Option<String>,
    pub state_or_province: Option<String>,
    pub zip_plus4: Option<String>,
}

/// The global part of a user, shared by all its accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: UserId,
    pub email: String,
    pub user_name: String,
    pub names: PersonalNames,
    pub job_title: Option<String>,
    pub company: Option<String>,
    pub country_code: Option<String>,
    pub work_address: Option<Address>,
    pub home_address: Option<Address>,
    pub site_admin: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every change; with the membership's, it makes the ETag.
    pub version: i64,
    /// The user's own profile page settings (DocuSign `userProfile`).
    pub personal: PersonalProfile,
    /// Notification groups the user receives; `None` means every group of
    /// the catalog (the default, which also covers groups added later).
    pub opted_notifications: Option<Vec<String>>,
}

/// What a user shows on its profile page; absent flags read as shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalProfile {
    pub address: Option<Address>,
    pub display_organization_info: Option<bool>,
    pub display_personal_info: Option<bool>,
    pub display_profile: Option<bool>,
    pub display_usage_history: Option<bool>,
    pub modified_at: Option<Timestamp>,
}

impl PersonalProfile {
    /// Applies the parts of `change` that are set.
    pub fn merge(&mut self, change: &PersonalProfile) {
        if let Some(a) = &change.address {
            self.address = Some(a.clone());
        }
        for (slot, new) in [
            (&mut self.display_organization_info, change.display_organization_info),
            (&mut self.display_personal_info, change.display_personal_info),
            (&mut self.display_profile, change.display_profile),
            (&mut self.display_usage_history, change.display_usage_history),
        ] {
            if new.is_some() {
                *slot = new;
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalNames {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub suffix_name: Option<String>,
    pub title: Option<String>,
}

/// The three profiles every account starts with, in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinProfile {
    Administrator,
    Sender,
    Viewer,
}

impl BuiltinProfile {
    pub const ALL: [BuiltinProfile; 3] =
        [BuiltinProfile::Administrator, BuiltinProfile::Sender, BuiltinProfile::Viewer];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinProfile::Administrator => "Account Administrator",
            BuiltinProfile::Sender => "DocuSign Sender",
            BuiltinProfile::Viewer => "DocuSign Viewer",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            BuiltinProfile::Administrator => "admin",
            BuiltinProfile::Sender => "sender",
            BuiltinProfile::Viewer => "viewer",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        BuiltinProfile::ALL.into_iter().find(|p| p.key() == key)
    }
}

/// A permission profile as a member carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    pub id: ProfileId,
    pub name: String,
    /// What the profile lets its holders do (account management makes them admins).
    pub caps: crate::policy::Capabilities,
}

/// A user as one account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: Identity,
    pub account_id: AccountId,
    pub membership_id: Uuid,
    pub status: UserStatus,
    pub profile: ProfileRef,
    pub added_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every change of the membership.
    pub version: i64,
    /// The user settings as this account has them.
    pub settings: UserSettings,
}

/// The version of a member as one account sees it: identity and membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Revision {
    pub user: i64,
    pub membership: i64,
}

impl Revision {
    /// An opaque token that changes whenever the member changes (the ETag's value).
    pub fn tag(&self) -> String {
        format!("{}.{}", self.user, self.membership)
    }
}

/// The documents of a member that carry their own ETag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `userInformation`.
    User,
    /// `userSettingsInformation`.
    Settings,
    /// `userProfile` (identity-level: names and profile page).
    Profile,
}

impl Member {
    /// The current tag of one of the member's documents.
    pub fn tag(&self, view: View) -> String {
        match view {
            View::User => self.revision().tag(),
            View::Settings => self.settings.tag(&self.profile.caps),
            View::Profile => format!("p{}", self.user.version),
        }
    }

    pub fn revision(&self) -> Revision {
        Revision { user: self.user.version, membership: self.version }
    }

    pub fn is_admin(&self) -> bool {
        self.profile.caps.manage_account
    }

    pub fn is_active_admin(&self) -> bool {
        self.is_admin() && self.status.can_act()
    }
}

/// A validated request to add a user to an account.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub user_name: String,
    pub names: PersonalNames,
    pub job_title: Option<String>,
    pub company: Option<String>,
    pub country_code: Option<String>,
    pub work_address: Option<Address>,
    pub home_address: Option<Address>,
    pub password_hash: Option<PasswordHash>,
    pub status: Option<UserStatus>,
    /// An explicit profile wins over `is_admin`; with neither, "DocuSign Sender".
    pub profile: Option<ProfileId>,
    pub is_admin: bool,
    /// Settings to start with (validated).
    pub settings: Option<SettingsPatch>,
    /// Ungrouped custom settings to start with.
    pub custom_settings: Vec<CustomSetting>,
}

/// Where a profile change leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileTarget {
    Id(ProfileId),
    Builtin(BuiltinProfile),
}

/// A validated partial update: `None` leaves a field unchanged, `Some(None)`
/// clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub user_name: Option<String>,
    pub first_name: Option<Option<String>>,
    pub middle_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub suffix_name: Option<Option<String>>,
    pub title: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub country_code: Option<Option<String>>,
    pub work_address: Option<Address>,
    pub home_address: Option<Address>,
    pub password_hash: Option<PasswordHash>,
    pub status: Option<UserStatus>,
    /// An explicit profile wins over `is_admin`. `is_admin: true` on a
    /// non-admin gives "Account Administrator", `false` on an admin gives
    /// "DocuSign Sender"; otherwise it changes nothing.
    pub profile: Option<ProfileId>,
    pub is_admin: Option<bool>,
    /// User settings to change in this account.
    pub settings: Option<SettingsPatch>,
    /// Profile-page settings to change (the user itself only).
    pub personal: Option<PersonalProfile>,
}

impl UserPatch {
    /// The profile this patch moves `current` to, if it moves it at all.
    pub fn target_profile(&self, current: &Member) -> Option<ProfileTarget> {
        if let Some(id) = self.profile {
            return (id != current.profile.id).then_some(ProfileTarget::Id(id));
        }
        match self.is_admin {
            Some(true) if !current.is_admin() => Some(ProfileTarget::Builtin(BuiltinProfile::Administrator)),
            Some(false) if current.is_admin() => Some(ProfileTarget::Builtin(BuiltinProfile::Sender)),
            _ => None,
        }
    }

    /// Whether the patch touches fields every account of the user sees.
    pub fn touches_identity(&self) -> bool {
        self.email.is_some()
            || self.user_name.is_some()
            || self.first_name.is_some()
            || self.middle_name.is_some()
            || self.last_name.is_some()
            || self.suffix_name.is_some()
            || self.title.is_some()
            || self.job_title.is_some()
            || self.company.is_some()
            || self.country_code.is_some()
            || self.work_address.is_some()
            || self.home_address.is_some()
            || self.password_hash.is_some()
            || self.personal.is_some()
    }

    /// Applies the identity part of the patch (the password is stored apart).
    pub fn apply_to(&self, user: &mut Identity) {
        fn set(slot: &mut Option<String>, v: &Option<Option<String>>) {
            if let Some(v) = v {
                slot.clone_from(v);
            }
        }
        if let Some(e) = &self.email {
            user.email = e.as_str().to_owned();
        }
        if let Some(n) = &self.user_name {
            user.user_name.clone_from(n);
        }
        set(&mut user.names.first_name, &self.first_name);
        set(&mut user.names.middle_name, &self.middle_name);
        set(&mut user.names.last_name, &self.last_name);
        set(&mut user.names.suffix_name, &self.suffix_name);
        set(&mut user.names.title, &self.title);
        set(&mut user.job_title, &self.job_title);
        set(&mut user.company, &self.company);
        set(&mut user.country_code, &self.country_code);
        if let Some(a) = &self.work_address {
            user.work_address = Some(a.clone());
        }
        if let Some(a) = &self.home_address {
            user.home_address = Some(a.clone());
        }
        if let Some(p) = &self.personal {
            user.personal.merge(p);
        }
    }
}

/// What kind of group: its members are listed (custom) or derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKind {
    /// Every member of the account that is not closed.
    Everyone,
    /// The account's active administrators.
    Administrators,
    Custom,
}

impl GroupKind {
    /// DocuSign's `groupType`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Everyone => "EveryoneGroup",
            GroupKind::Administrators => "AdminGroup",
            GroupKind::Custom => "CustomGroup",
        }
    }

    pub fn parse(s: &str) -> Option<GroupKind> {
        [GroupKind::Everyone, GroupKind::Administrators, GroupKind::Custom]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub kind: GroupKind,
    pub profile: Option<ProfileId>,
    pub version: i64,
}

/// A permission profile with its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionProfile {
    pub id: i64,
    pub name: String,
    #[serde(skip)]
    pub builtin: Option<BuiltinProfile>,
    pub settings: crate::roles::RoleSettings,
    pub modified_by: Option<String>,
    pub modified_at: Timestamp,
    pub version: i64,
}

impl PermissionProfile {
    pub fn caps(&self) -> crate::policy::Capabilities {
        self.settings.capabilities(self.builtin)
    }

    /// Its ETag value.
    pub fn tag(&self) -> String {
        format!("pp{}", self.version)
    }
}

/// Filters of the users list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Exact email, case-insensitive.
    pub email: Option<String>,
    pub email_substring: Option<String>,
    pub user_name_substring: Option<String>,
    /// Empty means every status.
    pub statuses: Vec<UserStatus>,
    /// Members of at least one of these groups.
    pub in_groups: Vec<Group>,
    /// Members of none of these groups.
    pub not_in_groups: Vec<Group>,
}

impl UserFilter {
    /// Whether the filter lets every member through.
    pub fn is_everyone(&self) -> bool {
        self.email.is_none()
            && self.email_substring.is_none()
            && self.user_name_substring.is_none()
            && self.statuses.is_empty()
            && self.in_groups.is_empty()
            && self.not_in_groups.is_empty()
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub start: u64,
    pub total: u64,
}
