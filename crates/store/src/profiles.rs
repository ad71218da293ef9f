//! Permission profiles: list, read, create, update (with user assignment),
//! delete (with `move_users_to`), each write in one transaction that keeps
//! at least one active administrator in the account.

use roster_domain::ids::{AccountId, ProfileId, UserId};
use roster_domain::model::{BuiltinProfile, PermissionProfile, Timestamp};
use roster_domain::policy::Actor;
use roster_domain::roles::RoleSettings;
use roster_domain::settings::SettingsPatch;
use roster_domain::Error;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::members::{ensure_an_admin_remains, json, member_in, to_json};
use crate::{db_error, is_unique_violation, Store};

const PROFILE_COLUMNS: &str = "id, name, builtin, settings, modified_by, modified_at, version";

/// How many members hold a profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfileUsers {
    pub open: u64,
    pub closed: u64,
}

/// A change to a permission profile.
pub struct ProfileChange {
    pub name: Option<String>,
    pub settings: Option<SettingsPatch>,
    /// Members to move to this profile.
    pub users: Vec<UserId>,
    pub if_match: Option<Vec<String>>,
}

impl Store {
    /// Every profile of the account, oldest first, with how many members hold it.
    pub async fn permission_profiles(
        &self,
        account: AccountId,
    ) -> Result<Vec<(PermissionProfile, ProfileUsers)>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {PROFILE_COLUMNS}, \
             (SELECT COUNT(*) FROM memberships m WHERE m.profile_id = p.id AND m.status <> 'Closed') AS open_users, \
             (SELECT COUNT(*) FROM memberships m WHERE m.profile_id = p.id AND m.status = 'Closed') AS closed_users \
             FROM permission_profiles p WHERE account_id = $1 ORDER BY id"
        ))
        .bind(account.0)
        .fetch_all(&self.read)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                let users = ProfileUsers {
                    open: r.try_get::<i64, _>("open_users").map_err(db_error)? as u64,
                    closed: r.try_get::<i64, _>("closed_users").map_err(db_error)? as u64,
                };
                Ok((profile_from_row(r)?, users))
            })
            .collect()
    }

    pub async fn permission_profile(&self, account: AccountId, id: ProfileId) -> Result<PermissionProfile, Error> {
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        profile_in(&mut conn, account, id).await
    }

    pub async fn create_permission_profile(
        &self,
        actor: &Actor,
        name: String,
        settings: SettingsPatch,
    ) -> Result<PermissionProfile, Error> {
        actor.ensure_can_manage_profiles()?;
        let mut stored = RoleSettings::default();
        stored.merge(settings);
        let mut tx = self.write.begin().await.map_err(db_error)?;
        let by = user_name(&mut tx, actor.user_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO permission_profiles (account_id, name, name_norm, account_management, settings, modified_by, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(actor.account_id.0)
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(stored.capabilities(None).manage_account as i64)
        .bind(to_json(&stored))
        .bind(by)
        .bind(Timestamp::now().0)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| duplicate(e, &name))?;
        let profile = profile_in(&mut tx, actor.account_id, ProfileId(id)).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(profile)
    }

    pub async fn update_permission_profile(
        &self,
        actor: &Actor,
        id: ProfileId,
        change: ProfileChange,
    ) -> Result<PermissionProfile, Error> {
        actor.ensure_can_manage_profiles()?;
        let account = actor.account_id;
        let mut tx = self.write.begin().await.map_err(db_error)?;
        lock_profile(&mut tx, account, id).await?;
        let mut profile = profile_in(&mut tx, account, id).await?;
        if change.if_match.is_some_and(|tags| !tags.contains(&profile.tag())) {
            return Err(Error::PreconditionFailed);
        }
        if let Some(name) = change.name.filter(|n| *n != profile.name) {
            if profile.builtin.is_some() {
                return Err(Error::BuiltIn(format!("the built-in profile '{}' cannot be renamed", profile.name)));
            }
            profile.name = name;
        }
        if let Some(patch) = change.settings {
            profile.settings.merge(patch);
        }
        sqlx::query(
            "UPDATE permission_profiles SET name = $1, name_norm = $2, settings = $3, account_management = $4, \
             modified_by = $5, modified_at = $6, version = version + 1 WHERE account_id = $7 AND id = $8",
        )
        .bind(&profile.name)
        .bind(profile.name.to_lowercase())
        .bind(to_json(&profile.settings))
        .bind(profile.caps().manage_account as i64)
        .bind(user_name(&mut tx, actor.user_id).await?)
        .bind(Timestamp::now().0)
        .bind(account.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate(e, &profile.name))?;
        for user in change.users {
            if member_in(&mut *tx, account, user).await?.is_none() {
                return Err(Error::UnknownUser(user.to_string()));
            }
            move_member(&mut tx, account, user, id).await?;
        }
        ensure_an_admin_remains(&mut *tx, account).await?;
        let profile = profile_in(&mut tx, account, id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(profile)
    }

    /// Deletes a profile without members; with `move_to`, moves its members
    /// (and groups) there first, in the same transaction.
    pub async fn delete_permission_profile(
        &self,
        actor: &Actor,
        id: ProfileId,
        move_to: Option<ProfileId>,
        if_match: Option<Vec<String>>,
    ) -> Result<(), Error> {
        actor.ensure_can_manage_profiles()?;
        let account = actor.account_id;
        let mut tx = self.write.begin().await.map_err(db_error)?;
        lock_profile(&mut tx, account, id).await?;
        let profile = profile_in(&mut tx, account, id).await?;
        if if_match.is_some_and(|tags| !tags.contains(&profile.tag())) {
            return Err(Error::PreconditionFailed);
        }
        if profile.builtin.is_some() {
            return Err(Error::BuiltIn(format!("the built-in profile '{}' cannot be deleted", profile.name)));
        }
        let holders: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND profile_id = $2")
                .bind(account.0)
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        match move_to {
            Some(target) if target == id => {
                return Err(Error::invalid("move_users_to", "names the profile being deleted"));
            }
            Some(target) => {
                profile_in(&mut tx, account, target).await?;
                let now = Timestamp::now().0;
                sqlx::query(
                    "UPDATE memberships SET profile_id = $1, updated_at = $2, version = version + 1 \
                     WHERE account_id = $3 AND profile_id = $4",
                )
                .bind(target.0)
                .bind(now)
                .bind(account.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                sqlx::query(
                    "UPDATE groups SET permission_profile_id = $1 WHERE account_id = $2 AND permission_profile_id = $3",
                )
                .bind(target.0)
                .bind(account.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
            None if holders > 0 => return Err(Error::ProfileInUse(holders as u64)),
            None => {
                sqlx::query("UPDATE groups SET permission_profile_id = NULL WHERE account_id = $1 AND permission_profile_id = $2")
                    .bind(account.0)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
        }
        sqlx::query("DELETE FROM permission_profiles WHERE account_id = $1 AND id = $2")
            .bind(account.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        ensure_an_admin_remains(&mut *tx, account).await?;
        tx.commit().await.map_err(db_error)
    }
}

/// Moves a member to another profile.
async fn move_member(conn: &mut AnyConnection, account: AccountId, user: UserId, to: ProfileId) -> Result<(), Error> {
    sqlx::query(
        "UPDATE memberships SET profile_id = $1, updated_at = $2, version = version + 1 \
         WHERE account_id = $3 AND user_id = $4 AND profile_id <> $1",
    )
    .bind(to.0)
    .bind(Timestamp::now().0)
    .bind(account.0)
    .bind(user.to_string())
    .execute(conn)
    .await
    .map(drop)
    .map_err(db_error)
}

/// A no-op update that takes the profile row's lock (PostgreSQL) first.
async fn lock_profile(conn: &mut AnyConnection, account: AccountId, id: ProfileId) -> Result<(), Error> {
    sqlx::query("UPDATE permission_profiles SET version = version WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(id.0)
        .execute(conn)
        .await
        .map(drop)
        .map_err(db_error)
}

pub(crate) async fn profile_in(
    conn: &mut AnyConnection,
    account: AccountId,
    id: ProfileId,
) -> Result<PermissionProfile, Error> {
    let row =
        sqlx::query(&format!("SELECT {PROFILE_COLUMNS} FROM permission_profiles WHERE account_id = $1 AND id = $2"))
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::UnknownProfile(id.to_string()))?;
    profile_from_row(&row)
}

async fn user_name(conn: &mut AnyConnection, user: UserId) -> Result<String, Error> {
    sqlx::query_scalar("SELECT user_name FROM users WHERE id = $1")
        .bind(user.to_string())
        .fetch_one(conn)
        .await
        .map_err(db_error)
}

fn duplicate(e: sqlx::Error, name: &str) -> Error {
    if is_unique_violation(&e) {
        Error::DuplicateName { kind: "permission profile", name: name.to_owned() }
    } else {
        db_error(e)
    }
}

fn profile_from_row(r: &AnyRow) -> Result<PermissionProfile, Error> {
    let builtin: Option<String> = r.try_get("builtin").map_err(db_error)?;
    Ok(PermissionProfile {
        id: r.try_get("id").map_err(db_error)?,
        name: r.try_get("name").map_err(db_error)?,
        builtin: builtin.as_deref().and_then(BuiltinProfile::from_key),
        settings: json(&r.try_get::<String, _>("settings").map_err(db_error)?)?,
        modified_by: r.try_get("modified_by").map_err(db_error)?,
        modified_at: Timestamp(r.try_get("modified_at").map_err(db_error)?),
        version: r.try_get("version").map_err(db_error)?,
    })
}
