//! Custom user settings, per membership and group.

use std::collections::HashMap;

use roster_domain::custom_settings::{self, CustomSetting};
use roster_domain::ids::{AccountId, UserId};
use roster_domain::policy::Actor;
use roster_domain::tag::content_tag;
use roster_domain::Error;
use sqlx::Row as _;

use crate::accounts::parse_uuid;
use crate::members::{lock_membership, member_in};
use crate::sql::{args, write_transaction, Conn, DbError, Row};
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
        if member_in(&mut *conn, account, user).await?.is_none() {
            return Err(Error::UnknownUser(user.to_string()));
        }
        settings_of(&mut *conn, account, user, group, true).await
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
        let (actor, group) = (actor.clone(), group.to_owned());
        write_transaction!(self, |conn| change_in(conn, actor, user, group, change, if_match))
    }
}

async fn change_in<C: Conn>(
    conn: &mut C,
    actor: Actor,
    user: UserId,
    group: String,
    change: CustomChange,
    if_match: Option<Vec<String>>,
) -> Result<Vec<CustomSetting>, Error> {
    let (account, group) = (actor.account_id, group.as_str());
    if !lock_membership(conn, account, user).await? {
        return Err(Error::UnknownUser(user.to_string()));
    }
    let current = settings_of(conn, account, user, group, true).await?;
    if if_match.is_some_and(|tags| !tags.contains(&content_tag(&current))) {
        return Err(Error::PreconditionFailed);
    }
    match change {
        CustomChange::Put(items) => {
            let mut this_group = current;
            custom_settings::merge(&mut this_group, &items);
            let others = settings_of(conn, account, user, group, false).await?;
            custom_settings::check_size(others.iter().chain(this_group.iter()))?;
            upsert(conn, account, user, group, &items).await?;
        }
        CustomChange::Delete(names) => {
            for name in names {
                conn.execute(
                    "DELETE FROM custom_settings WHERE account_id = $1 AND user_id = $2 AND group_key = $3 AND name = $4",
                    args![account.0, user.to_string(), group, name],
                )
                .await
                .map_err(db_error)?;
            }
        }
    }
    settings_of(conn, account, user, group, true).await
}

/// The member's settings in `group` (or, with `inside` false, in every other
/// group), oldest first.
async fn settings_of(
    conn: &mut impl Conn,
    account: AccountId,
    user: UserId,
    group: &str,
    inside: bool,
) -> Result<Vec<CustomSetting>, Error> {
    let op = if inside { "=" } else { "<>" };
    let sql = format!(
        "SELECT name, value FROM custom_settings WHERE account_id = $1 AND user_id = $2 AND group_key {op} $3 ORDER BY id"
    );
    let rows = conn.fetch_all(&sql, args![account.0, user.to_string(), group]).await.map_err(db_error)?;
    rows.iter().map(setting_from).collect()
}

/// Adds or updates settings of one group by name.
pub(crate) async fn upsert(
    conn: &mut impl Conn,
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
    conn: &mut impl Conn,
    account: AccountId,
    group: &str,
    rows: &[(UserId, &[CustomSetting])],
) -> Result<(), DbError> {
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
    let args = last
        .iter()
        .flat_map(|(user, item)| args![account.0, user.to_string(), group, item.name.as_str(), item.value.as_str()]);
    conn.execute(&sql, args.collect()).await
}

fn setting_from(row: &impl Row) -> Result<CustomSetting, Error> {
    Ok(CustomSetting { name: row.text("name")?, value: row.text("value")? })
}
