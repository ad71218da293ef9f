//! Custom user settings, per membership and group.

use std::collections::HashMap;

use roster_domain::custom_settings::{self, CustomSetting};
use roster_domain::ids::{AccountId, UserId};
use roster_domain::policy::Actor;
use roster_domain::tag::content_tag;
use roster_domain::Error;
use sqlx::{AnyConnection, Row};

use crate::accounts::parse_uuid;
use crate::members::{lock_member, member_in};
use crate::{db_error, Params, Store};

/// A change to one group of custom settings.
pub enum CustomChange {
    /// Add or update by name.
    Put(Vec<CustomSetting>),
    /// Remove these names (unknown names are ignored).
    Delete(Vec<String>),
}

impl Store {
    /// One group of a member's custom settings (`""`: the ungrouped ones).
    pub async fn custom_settings(
        &self,
        account: AccountId,
        user: UserId,
        group: &str,
    ) -> Result<Vec<CustomSetting>, Error> {
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        if member_in(&mut conn, account, user).await?.is_none() {
            return Err(Error::UnknownUser(user.to_string()));
        }
        settings_of(&mut conn, account, user, group, true).await
    }

    /// The ungrouped custom settings of several members (for `additional_info`).
    pub async fn ungrouped_custom_settings(
        &self,
        account: AccountId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, Vec<CustomSetting>>, Error> {
        let mut out: HashMap<UserId, Vec<CustomSetting>> = HashMap::new();
        for chunk in users.chunks(100) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT user_id, name, value FROM custom_settings WHERE account_id = $1 AND group_key = '' \
                 AND user_id IN ({}) ORDER BY id",
                list.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(account.0);
            for u in chunk {
                q = q.bind(u.to_string());
            }
            for row in q.fetch_all(&self.read).await.map_err(db_error)? {
                let user = UserId(parse_uuid(&row.try_get::<String, _>("user_id").map_err(db_error)?)?);
                out.entry(user).or_default().push(setting_from(&row)?);
            }
        }
        Ok(out)
    }

    /// Changes one group of a member's custom settings and returns the group
    /// as it now is. A change that would pass the size limit (all groups
    /// together) is refused whole.
    pub async fn change_custom_settings(
        &self,
        actor: &Actor,
        user: UserId,
        group: &str,
        change: CustomChange,
        if_match: Option<Vec<String>>,
    ) -> Result<Vec<CustomSetting>, Error> {
        actor.ensure_can_update_user(user)?;
        let mut tx = self.write.begin().await.map_err(db_error)?;
        lock_member(&mut tx, actor.account_id, user).await?;
        if member_in(&mut tx, actor.account_id, user).await?.is_none() {
            return Err(Error::UnknownUser(user.to_string()));
        }
        let current = settings_of(&mut tx, actor.account_id, user, group, true).await?;
        if if_match.is_some_and(|tags| !tags.contains(&content_tag(&current))) {
            return Err(Error::PreconditionFailed);
        }
        match change {
            CustomChange::Put(items) => {
                let mut this_group = current;
                custom_settings::merge(&mut this_group, &items);
                let others = settings_of(&mut tx, actor.account_id, user, group, false).await?;
                custom_settings::check_size(others.iter().chain(this_group.iter()))?;
                upsert(&mut tx, actor.account_id, user, group, &items).await?;
            }
            CustomChange::Delete(names) => {
                for name in names {
                    sqlx::query(
                        "DELETE FROM custom_settings WHERE account_id = $1 AND user_id = $2 AND group_key = $3 AND name = $4",
                    )
                    .bind(actor.account_id.0)
                    .bind(user.to_string())
                    .bind(group)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                }
            }
        }
        let after = settings_of(&mut tx, actor.account_id, user, group, true).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(after)
    }
}

/// The member's settings in `group` (or, with `inside` false, in every other
/// group), oldest first.
async fn settings_of(
    conn: &mut AnyConnection,
    account: AccountId,
    user: UserId,
    group: &str,
    inside: bool,
) -> Result<Vec<CustomSetting>, Error> {
    let op = if inside { "=" } else { "<>" };
    let rows = sqlx::query(&format!(
        "SELECT name, value FROM custom_settings WHERE account_id = $1 AND user_id = $2 AND group_key {op} $3 ORDER BY id"
    ))
    .bind(account.0)
    .bind(user.to_string())
    .bind(group)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter().map(setting_from).collect()
}

/// Adds or updates settings of one group by name.
pub(crate) async fn upsert(
    conn: &mut AnyConnection,
    account: AccountId,
    user: UserId,
    group: &str,
    items: &[CustomSetting],
) -> Result<(), Error> {
    upsert_many(conn, account, group, &[(user, items)]).await.map_err(db_error)
}

/// Sets custom settings of several members in one group with one statement.
/// A name given twice for one member keeps its last value, as one upsert
/// after another would (one statement may not change a row twice).
pub(crate) async fn upsert_many(
    conn: &mut AnyConnection,
    account: AccountId,
    group: &str,
    rows: &[(UserId, &[CustomSetting])],
) -> Result<(), sqlx::Error> {
    let mut last: Vec<(UserId, &CustomSetting)> = Vec::new();
    for (user, items) in rows {
        for (i, item) in items.iter().enumerate() {
            if !items[i + 1..].iter().any(|later| later.name == item.name) {
                last.push((*user, item));
            }
        }
    }
    if last.is_empty() {
        return Ok(());
    }
    let mut p = Params::default();
    let values: Vec<String> = last.iter().map(|_| format!("({})", p.list(5))).collect();
    let sql = format!(
        "INSERT INTO custom_settings (account_id, user_id, group_key, name, value) VALUES {} \
         ON CONFLICT (account_id, user_id, group_key, name) DO UPDATE SET value = excluded.value",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for (user, item) in last {
        q = q.bind(account.0).bind(user.to_string()).bind(group).bind(item.name.as_str()).bind(item.value.as_str());
    }
    q.execute(conn).await.map(drop)
}

fn setting_from(row: &sqlx::any::AnyRow) -> Result<CustomSetting, Error> {
    Ok(CustomSetting { name: row.try_get("name").map_err(db_error)?, value: row.try_get("value").map_err(db_error)? })
}
