//! Custom user settings, per membership and group.

use std::collections::HashMap;

use roster_domain::custom_settings::{self, CustomSetting};
use roster_domain::ids::{AccountId, UserId};
use roster_domain::policy::Actor;
use roster_domain::tag::content_tag;
use roster_domain::Error;
use sqlx::Row as _;

use crate::accounts::parse_uuid;
use crate::members::{by_account, member_in, only, MemberChange, LOCK_MEMBERS};
use crate::sql::{args, flushed, write_transaction, Conn, DbError, Row};
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
        let job = MemberChange {
            actor: actor.clone(),
            user,
            change: GroupChange { group: group.to_owned(), change },
            if_match,
        };
        match &self.pg {
            Some(pg) => pg.custom.run(job).await,
            None => {
                write_transaction!(self, |conn| async { only(change_custom(conn, std::slice::from_ref(&job)).await) })
            }
        }
    }
}

/// A change of one group of a member's custom settings.
pub(crate) struct GroupChange {
    group: String,
    change: CustomChange,
}

/// Applies custom settings changes, of one member each: reads every custom
/// setting of their members (with other writers, PostgreSQL, locking the
/// membership rows until the transaction ends, so that concurrent changes of
/// one member apply one after the other and the size limit holds for what
/// they leave together), applies each change, and writes those that apply.
/// One statement reads (per account), and one upserts (per account and
/// group), on PostgreSQL ([`crate::pg::Together`]).
pub(crate) async fn change_custom<C: Conn>(
    conn: &mut C,
    jobs: &[MemberChange<GroupChange>],
) -> Result<Vec<Result<Vec<CustomSetting>, Error>>, Error> {
    // With other writers (PostgreSQL) the membership rows are locked, and
    // each member's settings read by the index, member by member: this
    // statement is planned once for any number of members, and as a plain
    // join PostgreSQL chose to hash every custom setting of the account where
    // its statistics were stale (`OFFSET 0` keeps the subquery a subquery;
    // SQLite has no `LATERAL`, and plans each statement it runs).
    const READ: &str = "SELECT m.user_id AS member, c.id, c.group_key, c.name, c.value FROM memberships m \
         LEFT JOIN custom_settings c ON c.account_id = m.account_id AND c.user_id = m.user_id \
         WHERE m.account_id = $1 AND m.user_id";
    const READ_LOCKED: &str = "SELECT m.user_id AS member, c.id, c.group_key, c.name, c.value FROM memberships m \
         LEFT JOIN LATERAL (SELECT id, group_key, name, value FROM custom_settings \
         WHERE account_id = m.account_id AND user_id = m.user_id OFFSET 0) c ON true \
         WHERE m.account_id = $1 AND m.user_id";
    let (read, lock) = if conn.single_writer() { (READ, "") } else { (READ_LOCKED, LOCK_MEMBERS) };
    // Each member found, with its settings (its rows come one after the
    // other), found by a look through (a batch is small, most are of one).
    let mut all: Vec<(AccountId, String, Vec<Stored>)> = Vec::with_capacity(jobs.len());
    for (account, users) in by_account(jobs) {
        for row in conn.fetch_among(read, args![account.0], users, lock).await.map_err(db_error)? {
            let member = row.text("member")?;
            if !all.last().is_some_and(|(of, user, _)| *of == account && *user == member) {
                all.push((account, member, Vec::new()));
            }
            // A member without custom settings is one row of nulls.
            if row.opt_text("name")?.is_some() {
                let settings = &mut all.last_mut().expect("pushed above").2;
                settings.push((row.int("id")?, row.text("group_key")?, setting_from(&row)?));
            }
        }
    }
    let mut upserts: Vec<((AccountId, &str), UserId, &[CustomSetting])> = Vec::new();
    let mut deletes = Vec::new();
    let outcomes = jobs
        .iter()
        .map(|job| {
            let (account, group) = (job.actor.account_id, job.change.group.as_str());
            let user = job.user.to_string();
            let (_, _, member) = all
                .iter_mut()
                .find(|(of, member, _)| *of == account && *member == user)
                .ok_or(Error::UnknownUser(user))?;
            let mut member = std::mem::take(member);
            // Oldest first: the read orders its rows by member, not by id.
            member.sort_unstable_by_key(|(id, _, _)| *id);
            let (current, others): (Vec<_>, Vec<_>) = member.into_iter().partition(|(_, of, _)| of == group);
            let mut current: Vec<CustomSetting> = current.into_iter().map(|(_, _, setting)| setting).collect();
            if job.if_match.as_ref().is_some_and(|tags| !tags.contains(&content_tag(&current))) {
                return Err(Error::PreconditionFailed);
            }
            match &job.change.change {
                CustomChange::Put(items) => {
                    custom_settings::merge(&mut current, items);
                    custom_settings::check_size(others.iter().map(|(_, _, setting)| setting).chain(current.iter()))?;
                    upserts.push(((account, group), job.user, items));
                }
                CustomChange::Delete(names) => {
                    current.retain(|setting| !names.contains(&setting.name));
                    deletes.extend(names.iter().map(|name| args![account.0, job.user.to_string(), group, name]));
                }
            }
            // The group as the writes leave it, without reading it again: no
            // other write of this member runs in between (one writer on
            // SQLite; the membership's row lock on PostgreSQL), and `merge`
            // orders as the rows' ids do.
            Ok(current)
        })
        .collect();
    // The writes go out together, with `COMMIT` where the transaction is the
    // connection's own (no failure of theirs is told apart: any fails them all).
    conn.hold_writes();
    upserts.sort_by_key(|(of, _, _)| *of);
    for chunk in upserts.chunk_by(|(a, _, _), (b, _, _)| a == b) {
        let ((account, group), _, _) = chunk[0];
        let rows: Vec<_> = chunk.iter().map(|(_, user, items)| (*user, *items)).collect();
        upsert_many(conn, account, group, &rows).await.map_err(db_error)?;
    }
    for delete in deletes {
        conn.execute(
            "DELETE FROM custom_settings WHERE account_id = $1 AND user_id = $2 AND group_key = $3 AND name = $4",
            delete,
        )
        .await
        .map_err(db_error)?;
    }
    conn.commit_with_next();
    flushed(conn, Ok(outcomes)).await
}

/// A custom setting as stored: its id (the order of the member's settings),
/// group, name and value.
type Stored = (i64, String, CustomSetting);

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
