//! Who may do what. The API asks these questions before it touches a
//! resource, so a refusal never depends on (and never reveals) whether the
//! target exists.

use crate::ids::{AccountId, UserId};
use crate::model::{Member, UserPatch};
use crate::Error;

/// What a member's permission profile lets it do in its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Full account management (the "Account Administrator" profile).
    pub manage_account: bool,
    /// Create, update and close other users.
    pub manage_users: bool,
    /// List and read other users.
    pub view_users: bool,
    /// Create, change and delete groups and their members.
    pub manage_groups: bool,
}

impl Capabilities {
    pub fn from_account_management(allowed: bool) -> Self {
        Capabilities { manage_account: allowed, manage_users: allowed, view_users: allowed, manage_groups: allowed }
    }

    /// From a profile's `allowAccountManagement` and its granular rights
    /// (`accountManagementGranular`, by key): each right implies the ones
    /// below it.
    pub fn from_rights(manage_account: bool, granular: impl Fn(&str) -> bool) -> Self {
        let manage_users = manage_account || granular("allowManageUsers");
        Capabilities {
            manage_account,
            manage_users,
            view_users: manage_users || granular("allowViewUsers"),
            manage_groups: manage_users || granular("allowManageGroupsButNotUsers"),
        }
    }

    /// Whether these capabilities include all of `other`'s.
    pub fn covers(&self, other: &Capabilities) -> bool {
        (self.manage_account || !other.manage_account)
            && (self.manage_users || !other.manage_users)
            && (self.view_users || !other.view_users)
            && (self.manage_groups || !other.manage_groups)
    }
}

/// The authenticated caller acting inside one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub account_id: AccountId,
    pub caps: Capabilities,
}

impl Actor {
    pub fn is_self(&self, target: UserId) -> bool {
        self.user_id == target
    }

    pub fn ensure_can_list_users(&self) -> Result<(), Error> {
        if self.caps.view_users {
            Ok(())
        } else {
            Err(Error::Forbidden("listing the account's users needs permission to view users".into()))
        }
    }

    pub fn ensure_can_read_user(&self, target: UserId) -> Result<(), Error> {
        if self.is_self(target) || self.caps.view_users {
            Ok(())
        } else {
            Err(Error::Forbidden("reading another user needs permission to view users".into()))
        }
    }

    pub fn ensure_can_manage_groups(&self) -> Result<(), Error> {
        if self.caps.manage_groups {
            Ok(())
        } else {
            Err(Error::Forbidden("managing groups needs permission to manage groups".into()))
        }
    }

    /// Groups are visible to whoever sees users or manages groups.
    pub fn ensure_can_read_groups(&self) -> Result<(), Error> {
        if self.caps.view_users || self.caps.manage_groups {
            Ok(())
        } else {
            Err(Error::Forbidden("reading groups needs permission to view users or manage groups".into()))
        }
    }

    /// Profiles are visible to whoever sees users or manages groups (both pick them).
    pub fn ensure_can_read_profiles(&self) -> Result<(), Error> {
        self.ensure_can_read_groups()
    }

    pub fn ensure_can_manage_profiles(&self) -> Result<(), Error> {
        if self.caps.manage_account {
            Ok(())
        } else {
            Err(Error::Forbidden("managing permission profiles needs account management".into()))
        }
    }

    /// A member may not hand out rights it does not have.
    pub fn ensure_can_grant(&self, granted: &Capabilities) -> Result<(), Error> {
        if self.caps.covers(granted) {
            Ok(())
        } else {
            Err(Error::Forbidden("a user cannot grant a permission profile with rights it does not have".into()))
        }
    }

    pub fn ensure_can_manage_users(&self) -> Result<(), Error> {
        if self.caps.manage_users {
            Ok(())
        } else {
            Err(Error::Forbidden("this needs permission to manage users".into()))
        }
    }

    /// May the caller start updating `target` at all (before loading it)?
    pub fn ensure_can_update_user(&self, target: UserId) -> Result<(), Error> {
        if self.is_self(target) {
            Ok(())
        } else {
            self.ensure_can_manage_users()
        }
    }

    /// The full check of an update, once the current state is known.
    /// `shared` tells whether another account also has this user.
    pub fn ensure_can_apply(&self, current: &Member, shared: bool, patch: &UserPatch) -> Result<(), Error> {
        let target = current.user.id;
        self.ensure_can_update_user(target)?;
        if !self.caps.manage_users {
            // Only self reaches here: it may not raise (or otherwise change) its own rights.
            if patch.status.is_some_and(|s| s != current.status) {
                return Err(Error::Forbidden("a user cannot change its own userStatus".into()));
            }
            if patch.target_profile(current).is_some() {
                return Err(Error::Forbidden("a user cannot change its own permission profile or isAdmin".into()));
            }
        }
        if shared && !self.is_self(target) && patch.touches_identity() {
            return Err(Error::Forbidden(
                "this user also belongs to another account: only the user itself may change its email, password or names".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ProfileId;
    use crate::model::*;
    use uuid::Uuid;

    fn member(id: UserId, admin: bool) -> Member {
        Member {
            user: Identity {
                id,
                email: "a@b.c".into(),
                user_name: "A".into(),
                names: PersonalNames::default(),
                job_title: None,
                company: None,
                country_code: None,
                work_address: None,
                home_address: None,
                site_admin: false,
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
                version: 1,
                personal: PersonalProfile::default(),
                opted_notifications: None,
            },
            account_id: AccountId(1),
            membership_id: Uuid::nil(),
            status: UserStatus::Active,
            profile: ProfileRef {
                id: ProfileId(if admin { 1 } else { 2 }),
                name: "p".into(),
                caps: Capabilities::from_account_management(admin),
            },
            added_at: Timestamp(0),
            updated_at: Timestamp(0),
            version: 1,
            settings: Default::default(),
        }
    }

    fn actor(id: UserId, admin: bool) -> Actor {
        Actor { user_id: id, account_id: AccountId(1), caps: Capabilities::from_account_management(admin) }
    }

    #[test]
    fn a_member_cannot_raise_its_own_rights() {
        let me = UserId::new();
        let a = actor(me, false);
        let current = member(me, false);
        let raise = UserPatch { is_admin: Some(true), ..Default::default() };
        assert!(matches!(a.ensure_can_apply(&current, false, &raise), Err(Error::Forbidden(_))));
        let same = UserPatch { is_admin: Some(false), profile: Some(ProfileId(2)), ..Default::default() };
        assert!(a.ensure_can_apply(&current, false, &same).is_ok());
        let close = UserPatch { status: Some(UserStatus::Closed), ..Default::default() };
        assert!(a.ensure_can_apply(&current, false, &close).is_err());
        let other_profile = UserPatch { profile: Some(ProfileId(3)), ..Default::default() };
        assert!(a.ensure_can_apply(&current, false, &other_profile).is_err());
        let rename = UserPatch { user_name: Some("B".into()), ..Default::default() };
        assert!(a.ensure_can_apply(&current, true, &rename).is_ok());
    }

    #[test]
    fn an_admin_cannot_change_a_shared_identity() {
        let admin = actor(UserId::new(), true);
        let other = member(UserId::new(), false);
        let rename = UserPatch { user_name: Some("B".into()), ..Default::default() };
        assert!(admin.ensure_can_apply(&other, false, &rename).is_ok());
        assert!(admin.ensure_can_apply(&other, true, &rename).is_err());
        let close = UserPatch { status: Some(UserStatus::Closed), ..Default::default() };
        assert!(admin.ensure_can_apply(&other, true, &close).is_ok());
    }

    #[test]
    fn non_admins_see_only_themselves() {
        let me = UserId::new();
        let a = actor(me, false);
        assert!(a.ensure_can_read_user(me).is_ok());
        assert!(a.ensure_can_read_user(UserId::new()).is_err());
        assert!(a.ensure_can_list_users().is_err());
        assert!(a.ensure_can_manage_users().is_err());
    }
}
