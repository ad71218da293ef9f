//! Groups and group members. "Everyone" and "Administrators" have derived
//! members; custom groups list theirs.

use std::collections::HashMap;

use roster_domain::ids::{AccountId, ProfileId, UserId};
use roster_domain::model::{Group, GroupKind, Member, Page, Timestamp, UserStatus};
use roster_domain::policy::Actor;
use roster_domain::Error;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::parse_uuid;
use crate::members::{member_in, MEMBER_SELECT};
use crate::profiles::profile_in;
use crate::{db_error, is_unique_violation, Params, Store};

const GROUP_COLUMNS: &str = "g.id, g.name, g.group_type, g.permission_profile_id, g.version";

/// A new group.
pub struct NewGroup {
    pub name: String,
    pub profile: Option<ProfileId>,
}

/// A change to a group: `None` leaves a part as it is.
pub struct GroupChange {
    pub id: i64,
    pub name: Option<String>,
    pub profile: Option<ProfileId>,
}

/// [`member_of`] for a member already read: the same rules, in Rust.
fn in_builtin(g: &Group, m: &Member) -> bool {
    match g.kind {
        GroupKind::Everyone => m.status != UserStatus::Closed,
        GroupKind::Administrators => m.is_active_admin(),
        GroupKind::Custom => false,
    }
}

/// The SQL condition (on `m`, a membership row) for "member of `g`" (see
/// [`in_builtin`]).
pub(crate) fn member_of(g: &Group) -> String {
    match g.kind {
        GroupKind::Everyone => "m.status <> 'Closed'".to_owned(),
        GroupKind::Administrators => {
            "m.status NOT IN ('Closed', 'Disabled') AND EXISTS (SELECT 1 FROM permission_profiles ap \
             WHERE ap.id = m.profile_id AND ap.account_management <> 0)"
                .to_owned()
        }
        GroupKind::Custom => {
            format!("EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = {} AND gm.user_id = m.user_id)", g.id)
        }
    }
}

impl Store {
    /// Creates the built-in groups of a new account.
    pub(crate) async fn create_builtin_groups(
        conn: &mut AnyConnection,
        account: AccountId,
        now: Timestamp,
    ) -> Result<(), Error> {
        for (name, kind) in [("Everyone", GroupKind::Everyone), ("Administrators", GroupKind::Administrators)] {
            sqlx::query(
                "INSERT INTO groups (account_id, name, name_norm, group_type, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(account.0)
            .bind(name)
            .bind(name.to_lowercase())
            .bind(kind.as_str())
            .bind(now.0)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        }
        Ok(())
    }

    /// A page of groups (oldest first) and, when `with_counts`, each one's member count.
    pub async fn groups(
        &self,
        account: AccountId,
        search: Option<&str>,
        kind: Option<GroupKind>,
        start: u64,
        count: u64,
        with_counts: bool,
    ) -> Result<(Page<Group>, Vec<Option<u64>>), Error> {
        let mut p = Params::default();
        let mut cond = format!("g.account_id = {}", p.next());
        let mut binds = Vec::new();
        if let Some(s) = search {
            cond += &format!(" AND g.name_norm LIKE {} ESCAPE '\\'", p.next());
            binds.push(crate::members::like_pattern(&s.to_lowercase()));
        }
        if let Some(k) = kind {
            cond += &format!(" AND g.group_type = {}", p.next());
            binds.push(k.as_str().to_owned());
        }
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        let count_sql = format!("SELECT COUNT(*) FROM groups g WHERE {cond}");
        let mut q = sqlx::query_scalar::<_, i64>(&count_sql).bind(account.0);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let total = q.fetch_one(&mut *conn).await.map_err(db_error)? as u64;
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM groups g WHERE {cond} ORDER BY g.id LIMIT {} OFFSET {}",
            p.next(),
            p.next()
        );
        let mut q = sqlx::query(&sql).bind(account.0);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q
            .bind(count as i64)
            .bind(start.min(i64::MAX as u64) as i64)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let items: Vec<Group> = rows.iter().map(group_from_row).collect::<Result<_, _>>()?;
        let mut counts = Vec::with_capacity(items.len());
        for g in &items {
            counts.push(if with_counts { Some(members_count(&mut conn, account, g).await?) } else { None });
        }
        Ok((Page { items, start, total }, counts))
    }

    /// One group of the account, or `UnknownGroup`.
    pub async fn group(&self, account: AccountId, id: i64) -> Result<Group, Error> {
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        group_in(&mut conn, account, id).await
    }

    pub async fn create_groups(&self, actor: &Actor, items: Vec<NewGroup>) -> Result<Vec<Result<Group, Error>>, Error> {
        actor.ensure_can_manage_groups()?;
        let actor = actor.clone();
        self.batch(items, move |conn, new| {
            let actor = actor.clone();
            Box::pin(async move {
                if let Some(p) = new.profile {
                    actor.ensure_can_grant(&profile_in(conn, actor.account_id, p).await?.caps())?;
                }
                let now = Timestamp::now().0;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO groups (account_id, name, name_norm, group_type, permission_profile_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'CustomGroup', $4, $5, $5) RETURNING id",
                )
                .bind(actor.account_id.0)
                .bind(&new.name)
                .bind(new.name.to_lowercase())
                .bind(new.profile.map(|p| p.0))
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| duplicate(e, &new.name))?;
                group_in(conn, actor.account_id, id).await
            })
        })
        .await
    }

    pub async fn update_groups(
        &self,
        actor: &Actor,
        items: Vec<GroupChange>,
    ) -> Result<Vec<Result<Group, Error>>, Error> {
        actor.ensure_can_manage_groups()?;
        let actor = actor.clone();
        self.batch(items, move |conn, change| {
            let actor = actor.clone();
            Box::pin(async move {
                let account = actor.account_id;
                let mut group = group_in(conn, account, change.id).await?;
                if let Some(name) = change.name.filter(|n| *n != group.name) {
                    if group.kind != GroupKind::Custom {
                        return Err(Error::BuiltIn(format!("the built-in group '{}' cannot be renamed", group.name)));
                    }
                    group.name = name;
                }
                if let Some(p) = change.profile {
                    actor.ensure_can_grant(&profile_in(conn, account, p).await?.caps())?;
                    group.profile = Some(p);
                }
                sqlx::query(
                    "UPDATE groups SET name = $1, name_norm = $2, permission_profile_id = $3, updated_at = $4, \
                     version = version + 1 WHERE account_id = $5 AND id = $6",
                )
                .bind(&group.name)
                .bind(group.name.to_lowercase())
                .bind(group.profile.map(|p| p.0))
                .bind(Timestamp::now().0)
                .bind(account.0)
                .bind(group.id)
                .execute(&mut *conn)
                .await
                .map_err(|e| duplicate(e, &group.name))?;
                group_in(conn, account, group.id).await
            })
        })
        .await
    }

    pub async fn delete_groups(&self, actor: &Actor, ids: Vec<i64>) -> Result<Vec<Result<Group, Error>>, Error> {
        actor.ensure_can_manage_groups()?;
        let account = actor.account_id;
        self.batch(ids, move |conn, id| {
            Box::pin(async move {
                let group = group_in(conn, account, id).await?;
                if group.kind != GroupKind::Custom {
                    return Err(Error::BuiltIn(format!("the built-in group '{}' cannot be deleted", group.name)));
                }
                for sql in ["DELETE FROM group_members WHERE group_id = $1", "DELETE FROM groups WHERE id = $1"] {
                    sqlx::query(sql).bind(id).execute(&mut *conn).await.map_err(db_error)?;
                }
                Ok(group)
            })
        })
        .await
    }

    /// A page of a group's members, oldest membership first.
    pub async fn group_members(
        &self,
        account: AccountId,
        group: &Group,
        start: u64,
        count: u64,
    ) -> Result<Page<Member>, Error> {
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        let total = members_count(&mut conn, account, group).await?;
        let rows = sqlx::query(&format!(
            "{MEMBER_SELECT} WHERE m.account_id = $1 AND {} ORDER BY m.seq LIMIT $2 OFFSET $3",
            member_of(group)
        ))
        .bind(account.0)
        .bind(count as i64)
        .bind(start.min(i64::MAX as u64) as i64)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        let items = rows.iter().map(crate::members::member_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, start, total })
    }

    /// Adds (`add`) or removes members of a custom group, each user on its
    /// own. `if_match` is checked against the group's version first.
    pub async fn change_group_members(
        &self,
        actor: &Actor,
        group_id: i64,
        users: Vec<UserId>,
        add: bool,
        if_match: Option<Vec<String>>,
    ) -> Result<Vec<Result<Member, Error>>, Error> {
        actor.ensure_can_manage_groups()?;
        let account = actor.account_id;
        let mut conn = self.writing().await?;
        let group = group_in(&mut conn, account, group_id).await?;
        drop(conn);
        if if_match.is_some_and(|tags| !tags.contains(&group.version.to_string())) {
            return Err(Error::PreconditionFailed);
        }
        if group.kind != GroupKind::Custom {
            return Err(Error::BuiltIn(format!(
                "the members of the built-in group '{}' follow from the account",
                group.name
            )));
        }
        let results = self
            .batch(users, move |conn, user| {
                Box::pin(async move {
                    let member =
                        member_in(conn, account, user).await?.ok_or_else(|| Error::UnknownUser(user.to_string()))?;
                    let change = if add {
                        sqlx::query(
                            "INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (group_id, user_id) DO NOTHING",
                        )
                        .bind(group_id)
                        .bind(user.to_string())
                        .bind(Timestamp::now().0)
                    } else {
                        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                            .bind(group_id)
                            .bind(user.to_string())
                    };
                    change.execute(&mut *conn).await.map_err(db_error)?;
                    Ok(member)
                })
            })
            .await?;
        sqlx::query("UPDATE groups SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(Timestamp::now().0)
            .bind(group_id)
            .execute(&mut *self.writing().await?)
            .await
            .map_err(db_error)?;
        Ok(results)
    }

    /// The groups each of `members` (of `account`) belongs to, built-in
    /// ones included, in the order of their ids. Built-in membership is
    /// decided from the members as read ([`in_builtin`]), so one query of
    /// custom groups by user remains, which every plan answers from the
    /// by-user index.
    pub async fn groups_of(
        &self,
        account: AccountId,
        members: &[Member],
    ) -> Result<HashMap<UserId, Vec<Group>>, Error> {
        let mut out: HashMap<UserId, Vec<Group>> = HashMap::new();
        if members.is_empty() {
            return Ok(out);
        }
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        let rows = sqlx::query(&format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.account_id = $1 AND g.group_type <> 'CustomGroup' ORDER BY g.id"))
            .bind(account.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let builtin: Vec<Group> = rows.iter().map(group_from_row).collect::<Result<_, _>>()?;
        for m in members {
            out.insert(m.user.id, builtin.iter().filter(|g| in_builtin(g, m)).cloned().collect());
        }
        for chunk in members.chunks(100) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT gm.user_id, {GROUP_COLUMNS} FROM group_members gm JOIN groups g ON g.id = gm.group_id \
                 WHERE gm.user_id IN ({}) AND g.account_id = $1",
                list.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(account.0);
            for m in chunk {
                q = q.bind(m.user.id.to_string());
            }
            for row in q.fetch_all(&mut *conn).await.map_err(db_error)? {
                let user = UserId(parse_uuid(&row.try_get::<String, _>("user_id").map_err(db_error)?)?);
                out.entry(user).or_default().push(group_from_row(&row)?);
            }
        }
        for groups in out.values_mut() {
            groups.sort_by_key(|g| g.id);
        }
        Ok(out)
    }
}

async fn members_count(conn: &mut AnyConnection, account: AccountId, g: &Group) -> Result<u64, Error> {
    let n: i64 =
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM memberships m WHERE m.account_id = $1 AND {}", member_of(g)))
            .bind(account.0)
            .fetch_one(conn)
            .await
            .map_err(db_error)?;
    Ok(n as u64)
}

pub(crate) async fn group_in(conn: &mut AnyConnection, account: AccountId, id: i64) -> Result<Group, Error> {
    let row = sqlx::query(&format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.account_id = $1 AND g.id = $2"))
        .bind(account.0)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::UnknownGroup(id.to_string()))?;
    group_from_row(&row)
}

fn duplicate(e: sqlx::Error, name: &str) -> Error {
    if is_unique_violation(&e) {
        Error::DuplicateName { kind: "group", name: name.to_owned() }
    } else {
        db_error(e)
    }
}

fn group_from_row(r: &AnyRow) -> Result<Group, Error> {
    let kind: String = r.try_get("group_type").map_err(db_error)?;
    Ok(Group {
        id: r.try_get("id").map_err(db_error)?,
        name: r.try_get("name").map_err(db_error)?,
        kind: GroupKind::parse(&kind).ok_or_else(|| Error::Internal(format!("unknown group type {kind}")))?,
        profile: r.try_get::<Option<i64>, _>("permission_profile_id").map_err(db_error)?.map(ProfileId),
        version: r.try_get("version").map_err(db_error)?,
    })
}
