//! Custom user settings, per membership and group.

use std::collections::HashMap;

use roster_domain::custom_settings::{self, CustomSetting};
use roster_domain::ids::{AccountId, UserId};
use roster_domain::policy::Actor;
use roster_domain::tag::content_tag;
use roster_domain::Error;
use sqlx::Row as _;

use crate::accounts::parse_uuid;
use crate::members::member_in;
use crate::sql::{args, flushed, member_transaction, Conn, DbError, Row};
use crate::{db_error, Store};

/// A change to one group of custom settings.
#[derive(Clone)]
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
        settings_of(&mut *conn, account, user, group).await
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
        member_transaction!(self, actor.account_id, user, |conn| change_in(
            conn,
            actor.clone(),
            user,
            group.clone(),
            change.clone(),
            if_match.clone()
        ))
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
    let all =
        all_settings_for_update(conn, account, user).await?.ok_or_else(|| Error::UnknownUser(user.to_string()))?;
    let (current, others): (Vec<_>, Vec<_>) = all.into_iter().partition(|(of, _)| of == group);
    let mut current: Vec<CustomSetting> = current.into_iter().map(|(_, setting)| setting).collect();
    if if_match.is_some_and(|tags| !tags.contains(&content_tag(&current))) {
        return Err(Error::PreconditionFailed);
    }
    // The writes go out together, with `COMMIT` where this transaction is
    // the connection's own (no failure of theirs is told apart: any fails
    // the request).
    conn.hold_writes();
    match change {
        CustomChange::Put(items) => {
            custom_settings::merge(&mut current, &items);
            custom_settings::check_size(others.iter().map(|(_, setting)| setting).chain(current.iter()))?;
            upsert(conn, account, user, group, &items).await?;
        }
        CustomChange::Delete(names) => {
            current.retain(|setting| !names.contains(&setting.name));
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
    conn.commit_with_next();
    // The group as the writes leave it, without reading it again: no other
    // write of this member runs in between (one writer on SQLite; the
    // membership's row lock on PostgreSQL), and `merge` orders as the rows'
    // ids do.
    flushed(conn, Ok(current)).await
}

/// Every custom setting of a member, with its group, oldest first; `None`
/// when the user is not a member. With several writers (PostgreSQL) the
/// membership row stays locked until the transaction ends, so concurrent
/// changes of one member's settings apply one after the other (and the size
/// limit holds for what they leave together). One statement locks and reads.
async fn all_settings_for_update(
    conn: &mut impl Conn,
    account: AccountId,
    user: UserId,
) -> Result<Option<Vec<(String, CustomSetting)>>, Error> {
    let lock = if conn.single_writer() { "" } else { " FOR NO KEY UPDATE OF m" };
    // Sorted here, not by `ORDER BY`: PostgreSQL set up a sort node on every
    // execution (2 % of the machine's time under custom settings PUTs, in
    // `ExecInitSort` alone), for a member's few rows.
    let sql = format!(
        "SELECT c.id, c.group_key, c.name, c.value FROM memberships m LEFT JOIN custom_settings c \
         ON c.account_id = m.account_id AND c.user_id = m.user_id WHERE m.account_id = $1 AND m.user_id = $2{lock}"
    );
    let rows = conn.fetch_all(&sql, args![account.0, user.to_string()]).await.map_err(db_error)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut all = Vec::with_capacity(rows.len());
    for row in &rows {
        // A member without custom settings is one row of nulls.
        if row.opt_text("name")?.is_some() {
            all.push((row.int("id")?, row.text("group_key")?, setting_from(row)?));
        }
    }
    all.sort_unstable_by_key(|(id, _, _)| *id);
    Ok(Some(all.into_iter().map(|(_, group, setting)| (group, setting)).collect()))
}

/// The member's settings in `group`, oldest first.
async fn settings_of(
    conn: &mut impl Conn,
    account: AccountId,
    user: UserId,
    group: &str,
) -> Result<Vec<CustomSetting>, Error> {
    let rows = conn
        .fetch_all(
            "SELECT name, value FROM custom_settings WHERE account_id = $1 AND user_id = $2 AND group_key = $3 ORDER BY id",
            args![account.0, user.to_string(), group],
        )
        .await
        .map_err(db_error)?;
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
    let last: Vec<(UserId, &CustomSetting)> = rows
        .iter()
        .flat_map(|(user, items)| custom_settings::last_of_each_name(items).map(|item| (*user, item)))
        .collect();
    if last.is_empty() {
        return Ok(());
    }
    let rows = last
        .iter()
        .map(|(user, item)| args![account.0, user.to_string(), group, item.name.as_str(), item.value.as_str()]);
    conn.insert_rows(
        "INSERT INTO custom_settings (account_id, user_id, group_key, name, value)",
        rows.collect(),
        "ON CONFLICT (account_id, user_id, group_key, name) DO UPDATE SET value = excluded.value",
    )
    .await
}

fn setting_from(row: &impl Row) -> Result<CustomSetting, Error> {
    Ok(CustomSetting { name: row.text("name")?, value: row.text("value")? })
}
