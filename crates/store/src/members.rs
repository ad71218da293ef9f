//! Users as members of accounts: read, list, create, update, close.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use roster_domain::custom_settings::{self, CustomSetting};
use roster_domain::ids::{AccountId, AccountRef, ProfileId, UserId};
use roster_domain::model::{
    Account, Address, BuiltinProfile, Identity, Member, NewMember, Page, PersonalNames, ProfileRef, ProfileTarget,
    Timestamp, UserFilter, UserPatch, UserStatus, View,
};
use roster_domain::policy::{Actor, Capabilities};
use roster_domain::roles::RoleSettings;
use roster_domain::settings::{SettingsPatch, UserSettings};
use roster_domain::validate::normalize_email;
use roster_domain::Error;
use sqlx::{AnyConnection, Row as _};
use uuid::Uuid;

use crate::accounts::{account_clause, account_from_row, bind_account, parse_uuid};
use crate::sql::{args, flushed, write_transaction, Arg, Conn, DbError, Row};
use crate::writer::Undo;
use crate::{db_error, Params, Store};

/// The query of members that [`member_from_row`] reads, with optional
/// extra columns.
macro_rules! member_select {
    ($($extra:literal)?) => {
        concat!(
            "SELECT u.id AS user_id, u.email, u.user_name, u.first_name, u.middle_name, u.last_name, \
             u.suffix_name, u.title, u.job_title, u.company, u.country_code, u.work_address, u.home_address, u.site_admin, \
             u.created_at, u.updated_at, u.version AS user_version, u.personal_profile, u.opted_notifications, m.account_id, m.membership_id, m.status, m.added_at, m.updated_at AS m_updated_at, m.version, m.settings, \
             p.id AS profile_id, p.name AS profile_name, p.settings AS profile_settings, p.builtin AS profile_builtin"
            $(, ", ", $extra)?,
            " FROM memberships m JOIN users u ON u.id = m.user_id JOIN permission_profiles p ON p.id = m.profile_id"
        )
    };
}

pub(crate) const MEMBER_SELECT: &str = member_select!();

/// Writes a member's settings (`$1`) if its version is still `$5`, which it
/// is wherever the member was read locked or by the single writer. (A
/// settings PUT alone writes by the row's key instead: `set_settings`.)
const UPDATE_SETTINGS: &str = "UPDATE memberships SET settings = $1, updated_at = $2, version = version + 1 \
     WHERE account_id = $3 AND user_id = $4 AND version = $5";

/// [`MEMBER_SELECT`] with `others`: how many other accounts the member's
/// identity belongs to.
const MEMBER_SELECT_WITH_OTHERS: &str = member_select!(
    "(SELECT COUNT(*) FROM memberships o WHERE o.user_id = m.user_id AND o.account_id <> m.account_id) AS others"
);

/// One item of a bulk update: the target, the validated change, and the
/// tags of the addressed document it may apply to (`If-Match`; `None`
/// applies to any).
#[derive(Clone)]
pub struct MemberUpdate {
    pub user_id: UserId,
    pub patch: UserPatch,
    pub if_match: Option<(View, Vec<String>)>,
}

type ItemFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'c>>;

impl Store {
    /// The caller as a member of the account in the path. An unknown account
    /// and a closed or missing membership look the same: `NotAMember`.
    pub async fn actor(&self, user: UserId, account: AccountRef) -> Result<(Account, Actor), Error> {
        let sql = format!(
            "SELECT a.id, a.guid, a.name, a.created_at, m.status, p.settings AS profile_settings, p.builtin AS profile_builtin \
             FROM accounts a JOIN memberships m ON m.account_id = a.id AND m.user_id = $2 \
             JOIN permission_profiles p ON p.id = m.profile_id WHERE {}",
            account_clause(account)
        );
        let row = bind_account(sqlx::query(&sql), account)
            .bind(user.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .ok_or(Error::NotAMember)?;
        let status: UserStatus = row.try_get::<String, _>("status").map_err(db_error)?.parse()?;
        if !status.can_act() {
            return Err(Error::NotAMember);
        }
        let account = account_from_row(&row)?;
        let caps = profile_caps(&row)?;
        Ok((account.clone(), Actor { user_id: user, account_id: account.id, caps }))
    }

    /// One member of an account, or `UnknownUser`.
    pub async fn member(&self, account: AccountId, user: UserId) -> Result<Member, Error> {
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        member_in(&mut *conn, account, user).await?.ok_or_else(|| Error::UnknownUser(user.to_string()))
    }

    /// A page of an account's members in a stable order (oldest first).
    /// Unfiltered, a page is an index range on the members' positions, so
    /// the last page costs what the first does; filters count and skip.
    pub async fn list_members(
        &self,
        account: AccountId,
        filter: &UserFilter,
        start: u64,
        count: u64,
    ) -> Result<Page<Member>, Error> {
        let start_at = start.min(i64::MAX as u64) as i64;
        if filter.is_everyone() {
            let mut conn = self.read.acquire().await.map_err(db_error)?;
            let total: i64 = sqlx::query_scalar("SELECT member_count FROM accounts WHERE id = $1")
                .bind(account.0)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
            let rows = sqlx::query(&format!(
                "{MEMBER_SELECT} WHERE m.account_id = $1 AND m.position >= $2 ORDER BY m.position LIMIT $3"
            ))
            .bind(account.0)
            .bind(start_at)
            .bind(count as i64)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
            let items = rows.iter().map(member_from_row).collect::<Result<_, _>>()?;
            return Ok(Page { items, start, total: total as u64 });
        }
        let mut p = Params::default();
        let mut cond = format!("m.account_id = {}", p.next());
        let mut binds: Vec<String> = Vec::new();
        if let Some(email) = &filter.email {
            cond += &format!(" AND u.email_norm = {}", p.next());
            binds.push(normalize_email(email));
        }
        if let Some(s) = &filter.email_substring {
            cond += &format!(" AND u.email_norm LIKE {} ESCAPE '\\'", p.next());
            binds.push(like_pattern(&s.to_lowercase()));
        }
        if let Some(s) = &filter.user_name_substring {
            cond += &format!(" AND LOWER(u.user_name) LIKE {} ESCAPE '\\'", p.next());
            binds.push(like_pattern(&s.to_lowercase()));
        }
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter.statuses.iter().map(|_| p.next()).collect();
            cond += &format!(" AND m.status IN ({})", list.join(", "));
            binds.extend(filter.statuses.iter().map(|s| s.as_str().to_owned()));
        }
        if !filter.in_groups.is_empty() {
            let any: Vec<String> =
                filter.in_groups.iter().map(|g| format!("({})", crate::groups::member_of(g))).collect();
            cond += &format!(" AND ({})", any.join(" OR "));
        }
        for g in &filter.not_in_groups {
            cond += &format!(" AND NOT ({})", crate::groups::member_of(g));
        }
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        let count_sql = format!("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE {cond}");
        let mut q = sqlx::query_scalar::<_, i64>(&count_sql).bind(account.0);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let total = q.fetch_one(&mut *conn).await.map_err(db_error)? as u64;
        let page_sql =
            format!("{MEMBER_SELECT} WHERE {cond} ORDER BY m.position LIMIT {} OFFSET {}", p.next(), p.next());
        let mut q = sqlx::query(&page_sql).bind(account.0);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.bind(count as i64).bind(start_at).fetch_all(&mut *conn).await.map_err(db_error)?;
        let items = rows.iter().map(member_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, start, total })
    }

    /// Adds users to an account, each on its own: a failed item changes
    /// nothing and the others still apply. An email that already has an
    /// identity elsewhere joins that identity; its names and password are
    /// not touched (nobody takes over an identity by adding it).
    pub async fn create_members(
        &self,
        actor: &Actor,
        items: Vec<NewMember>,
    ) -> Result<Vec<Result<Member, Error>>, Error> {
        let actor = actor.clone();
        write_transaction!(self, |conn| create_members_in(conn, actor, items))
    }

    /// Applies partial updates, each checked against the actor's rights, the
    /// shared-identity rule and the last-admin rule, each on its own.
    pub async fn update_members(
        &self,
        actor: &Actor,
        items: Vec<MemberUpdate>,
    ) -> Result<Vec<Result<Member, Error>>, Error> {
        let actor = actor.clone();
        write_transaction!(self, |conn| update_all(conn, actor, items))
    }

    /// One update in its own transaction (no savepoint: a failure undoes
    /// the whole transaction, which holds nothing else).
    pub async fn update_member(&self, actor: &Actor, item: MemberUpdate) -> Result<Member, Error> {
        let actor = actor.clone();
        write_transaction!(self, |conn| update_one(conn, actor, item))
    }

    /// Changes a member's settings and nothing else (the hot write, `PUT
    /// .../users/{userId}/settings`); `if_match` lists the settings' tags it
    /// may apply to.
    pub async fn update_settings(
        &self,
        actor: &Actor,
        user: UserId,
        change: SettingsPatch,
        if_match: Option<Vec<String>>,
    ) -> Result<SettingsOf, Error> {
        actor.ensure_can_update_user(user)?;
        let job = MemberChange { actor: actor.clone(), user, change, if_match };
        match &self.pg {
            Some(pg) => pg.settings.run(job).await,
            // Its one write is its last statement (see `set_settings`).
            None => write_transaction!(self, Undo::LastStatement, |conn| async {
                only(set_settings(conn, std::slice::from_ref(&job)).await)
            }),
        }
    }

    /// The login record for an email: the user, its password hash, and
    /// whether it may act in at least one account.
    pub async fn login_record(&self, email: &str) -> Result<Option<(UserId, Option<String>, bool)>, Error> {
        let row = sqlx::query(
            "SELECT u.id, u.password_hash, CASE WHEN EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id \
             AND m.status NOT IN ('Closed', 'Disabled')) THEN 1 ELSE 0 END AS can_act FROM users u WHERE u.email_norm = $1",
        )
        .bind(normalize_email(email))
        .fetch_optional(&self.read)
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let id = UserId(parse_uuid(&row.try_get::<String, _>("id").map_err(db_error)?)?);
        let hash: Option<String> = row.try_get("password_hash").map_err(db_error)?;
        let can_act = row.try_get::<i64, _>("can_act").map_err(db_error)? != 0;
        Ok(Some((id, hash, can_act)))
    }

    /// A user's global identity.
    pub async fn identity(&self, user: UserId) -> Result<Identity, Error> {
        let row = sqlx::query(&format!("{MEMBER_SELECT} WHERE u.id = $1 ORDER BY m.seq LIMIT 1"))
            .bind(user.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::UnknownUser(user.to_string()))?;
        Ok(member_from_row(&row)?.user)
    }

    /// [`batch`] in a transaction of its own on the sqlx write connection.
    pub(crate) async fn batch<I: Send, T: Send>(
        &self,
        items: Vec<I>,
        each: impl for<'c> FnMut(&'c mut AnyConnection, I) -> ItemFuture<'c, T> + Send,
    ) -> Result<Vec<Result<T, Error>>, Error> {
        let mut tx = self.write.begin().await.map_err(db_error)?;
        let out = batch(&mut *tx, items, each).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }
}

/// Runs `each` on every item, each inside its own savepoint: a failing item
/// is rolled back alone. A failure of the database fails the whole batch.
pub(crate) async fn batch<C: Conn, I: Send, T: Send>(
    conn: &mut C,
    items: Vec<I>,
    mut each: impl for<'c> FnMut(&'c mut C, I) -> ItemFuture<'c, T> + Send,
) -> Result<Vec<Result<T, Error>>, Error> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let savepoint = Savepoint::begin(conn, "item").await?;
        let result = each(conn, item).await;
        if let Err(Error::Unavailable | Error::Internal(_)) = result {
            return result.map(|_| Vec::new());
        }
        savepoint.end(conn, result.is_ok()).await?;
        out.push(result);
    }
    Ok(out)
}

/// A bulk update, first in one piece ([`update_in_one_piece`]), which is
/// what happens when every item succeeds (the common case). When anything
/// fails, it is all undone and done again item by item, each in its
/// savepoint, so that every item gets its own outcome (and a failure of the
/// database shows again).
async fn update_all<C: Conn>(
    conn: &mut C,
    actor: Actor,
    items: Vec<MemberUpdate>,
) -> Result<Vec<Result<Member, Error>>, Error> {
    let savepoint = Savepoint::begin(conn, "every_item").await?;
    conn.hold_writes();
    let fast = update_in_one_piece(conn, &actor, &items).await;
    match flushed(conn, fast).await {
        Ok(updated) => {
            savepoint.end(conn, true).await?;
            Ok(updated.into_iter().map(Ok).collect())
        }
        Err(Error::Unavailable) => Err(Error::Unavailable),
        Err(_) => {
            savepoint.end(conn, false).await?;
            batch(conn, items, move |conn, item| Box::pin(update_one(conn, actor.clone(), item))).await
        }
    }
}

/// Every item of a bulk update, failing at the first that fails. Every
/// member is read (and locked) up front, the identities are written at the
/// end (see [`Conn::fetch_among`] and [`Conn::update_rows`]: one statement
/// each on PostgreSQL) and the other updates may be held back
/// ([`Conn::hold_writes`]): where each statement is a round trip, that is a
/// handful of round trips instead of four per item (a read, an update, and
/// a savepoint around them).
async fn update_in_one_piece<C: Conn>(
    conn: &mut C,
    actor: &Actor,
    items: &[MemberUpdate],
) -> Result<Vec<Member>, Error> {
    let users: Vec<UserId> = items.iter().map(|item| item.user_id).collect();
    let identity = items.iter().any(|item| item.patch.touches_identity());
    let ask_shared = items.iter().any(|item| asks_shared(actor, item));
    let mut current = members_for_update(conn, actor.account_id, &users, identity, ask_shared).await?;
    let mut updated = Vec::with_capacity(items.len());
    let mut identities = IdentityWrites::default();
    for item in items.iter().cloned() {
        let user = item.user_id;
        actor.ensure_can_update_user(user)?;
        let (member, shared) = current.remove(&user).ok_or_else(|| Error::UnknownUser(user.to_string()))?;
        let member = apply_update(conn, actor, item, member, shared, &mut identities).await?;
        // A user named twice is updated from what the first item left.
        current.insert(user, (member.clone(), shared));
        updated.push(member);
    }
    identities.write(conn).await?;
    Ok(updated)
}

/// A named savepoint: [`Savepoint::end`] keeps or undoes what was done since.
struct Savepoint(&'static str);

impl Savepoint {
    async fn begin(conn: &mut impl Conn, name: &'static str) -> Result<Savepoint, Error> {
        conn.execute(&format!("SAVEPOINT {name}"), args![]).await.map_err(db_error)?;
        Ok(Savepoint(name))
    }

    async fn end(self, conn: &mut impl Conn, keep: bool) -> Result<(), Error> {
        if !keep {
            conn.execute(&format!("ROLLBACK TO SAVEPOINT {}", self.0), args![]).await.map_err(db_error)?;
        }
        conn.execute(&format!("RELEASE SAVEPOINT {}", self.0), args![]).await.map_err(db_error)
    }
}

async fn create_members_in<C: Conn>(
    conn: &mut C,
    actor: Actor,
    items: Vec<NewMember>,
) -> Result<Vec<Result<Member, Error>>, Error> {
    if items.len() > 1 {
        let savepoint = Savepoint::begin(conn, "all_new").await?;
        conn.hold_writes();
        let fast = create_all_new(conn, &actor, &items).await;
        let fast = flushed(conn, fast).await;
        if let Err(Error::Unavailable) = fast {
            return Err(Error::Unavailable);
        }
        let done = matches!(fast, Ok(Some(_)));
        savepoint.end(conn, done).await?;
        if let Ok(Some(created)) = fast {
            return Ok(created.into_iter().map(Ok).collect());
        }
        // Something needs the careful path, which says what, item by item.
    }
    batch(conn, items, move |conn, new| Box::pin(create_one(conn, actor.clone(), new))).await
}

async fn create_one<C: Conn>(conn: &mut C, actor: Actor, new: NewMember) -> Result<Member, Error> {
    let (account, by) = (actor.account_id, actor.user_id);
    let now = Timestamp::now();
    let existing = conn
        .fetch_optional("SELECT id, password_hash FROM users WHERE email_norm = $1", args![new.email.normalized()])
        .await
        .map_err(db_error)?;
    let (user, has_password) = match existing {
        Some(row) => (UserId(parse_uuid(&row.text("id")?)?), row.opt_text("password_hash")?.is_some()),
        None => match insert_new_identity(conn, &new, now).await? {
            Some(user) => (user, new.password_hash.is_some()),
            // Another transaction created the email meanwhile: join that identity.
            None => return Box::pin(create_one(conn, actor, new)).await,
        },
    };
    let profile = resolve_profile(conn, account, profile_target(&new)).await?;
    actor.ensure_can_grant(&profile.caps)?;
    let status = initial_status(&new, has_password);
    let mut settings = UserSettings::default();
    if let Some(patch) = new.settings {
        settings.apply(patch, &profile.caps, true, by, now)?;
    }
    custom_settings::check_size(&new.custom_settings)?;
    let row = (user, Uuid::now_v7(), status, profile.id, to_json(&settings));
    let first = reserve_positions(conn, account, 1).await?;
    insert_memberships(conn, account, &[row], first, now).await.map_err(|e| {
        if e.is_unique_violation() {
            Error::UserExists(new.email.to_string())
        } else {
            db_error(e)
        }
    })?;
    crate::custom::upsert(conn, account, user, "", &new.custom_settings).await?;
    member_in(conn, account, user).await?.ok_or_else(|| Error::Internal("created member vanished".into()))
}

/// The fast path of a bulk create, for the common case: every item a new
/// email, valid as it stands. Multi-row statements write them all. `None` when any item
/// is not that case; the caller then rolls back and creates one by one.
async fn create_all_new<C: Conn>(
    conn: &mut C,
    actor: &Actor,
    items: &[NewMember],
) -> Result<Option<Vec<Member>>, Error> {
    // Parameters per statement. sqlx looks each one up by name in SQLite
    // (when the writer thread does not run it), which costs in proportion to
    // the statement's parameters, so there many small statements beat one
    // huge one. PostgreSQL takes up to 65,535, and each statement is a parse,
    // a plan and an execution of its own, so there the rows go in one
    // statement each (an array per column, see `Conn::insert_rows`).
    const PARAMS: usize = 400;
    let most = if conn.single_writer() { PARAMS } else { 9_000 };
    let now = Timestamp::now();
    let emails: std::collections::HashSet<String> = items.iter().map(|n| n.email.normalized()).collect();
    if emails.len() != items.len() {
        return Ok(None);
    }
    let emails: Vec<String> = emails.into_iter().collect();
    for chunk in emails.chunks(most) {
        if conn.count_among("SELECT COUNT(*) AS n FROM users WHERE email_norm", chunk.to_vec()).await? > 0 {
            return Ok(None);
        }
    }
    let mut profiles: Vec<(ProfileTarget, ProfileRef)> = Vec::new();
    let mut members = Vec::with_capacity(items.len());
    for new in items {
        let target = profile_target(new);
        let profile = match profiles.iter().find(|(t, _)| *t == target) {
            Some((_, p)) => p.clone(),
            None => {
                let Ok(p) = resolve_profile(conn, actor.account_id, target).await else { return Ok(None) };
                profiles.push((target, p.clone()));
                p
            }
        };
        let mut settings = UserSettings::default();
        let valid = actor.ensure_can_grant(&profile.caps).is_ok()
            && new
                .settings
                .clone()
                .is_none_or(|patch| settings.apply(patch, &profile.caps, true, actor.user_id, now).is_ok())
            && custom_settings::check_size(&new.custom_settings).is_ok();
        if !valid {
            return Ok(None);
        }
        let status = initial_status(new, new.password_hash.is_some());
        members.push(new_member(actor.account_id, UserId::new(), new, status, profile, settings, now));
    }
    let identities: Vec<(&Identity, Option<&str>)> =
        members.iter().zip(items).map(|(m, new)| (&m.user, password_of(new))).collect();
    for chunk in identities.chunks(most / 18) {
        insert_identities(conn, chunk).await.map_err(db_error)?;
    }
    let memberships: Vec<MembershipRow> =
        members.iter().map(|m| (m.user.id, m.membership_id, m.status, m.profile.id, to_json(&m.settings))).collect();
    for chunk in memberships.chunks(most / 8) {
        let first = reserve_positions(conn, actor.account_id, chunk.len()).await?;
        insert_memberships(conn, actor.account_id, chunk, first, now).await.map_err(db_error)?;
    }
    let customs: Vec<(UserId, &[CustomSetting])> =
        members.iter().zip(items).map(|(m, new)| (m.user.id, new.custom_settings.as_slice())).collect();
    for chunk in customs.chunks(most / 5) {
        crate::custom::upsert_many(conn, actor.account_id, "", chunk).await.map_err(db_error)?;
    }
    Ok(Some(members))
}

/// A member as [`create_all_new`] writes it, without reading it back: what
/// was asked, and the columns' defaults for a new row (first version; the
/// identity's are [`new_identity`]'s).
fn new_member(
    account_id: AccountId,
    id: UserId,
    new: &NewMember,
    status: UserStatus,
    profile: ProfileRef,
    settings: UserSettings,
    now: Timestamp,
) -> Member {
    Member {
        user: new_identity(id, new, false, now),
        account_id,
        membership_id: Uuid::now_v7(),
        status,
        profile,
        added_at: now,
        updated_at: now,
        version: 1,
        settings,
    }
}

/// A new identity as it is inserted: what was asked, and the columns'
/// defaults (first version, no profile page, every notification).
fn new_identity(id: UserId, new: &NewMember, site_admin: bool, now: Timestamp) -> Identity {
    Identity {
        id,
        email: new.email.as_str().to_owned(),
        user_name: new.user_name.clone(),
        names: new.names.clone(),
        job_title: new.job_title.clone(),
        company: new.company.clone(),
        country_code: new.country_code.clone(),
        work_address: new.work_address.clone(),
        home_address: new.home_address.clone(),
        site_admin,
        created_at: now,
        updated_at: now,
        version: 1,
        personal: Default::default(),
        opted_notifications: None,
    }
}

fn password_of(new: &NewMember) -> Option<&str> {
    new.password_hash.as_ref().map(|h| h.0.as_str())
}

fn profile_target(new: &NewMember) -> ProfileTarget {
    match (new.profile, new.is_admin) {
        (Some(id), _) => ProfileTarget::Id(id),
        (None, true) => ProfileTarget::Builtin(BuiltinProfile::Administrator),
        (None, false) => ProfileTarget::Builtin(BuiltinProfile::Sender),
    }
}

/// A new member's status: as asked, else active when it can sign in.
fn initial_status(new: &NewMember, has_password: bool) -> UserStatus {
    new.status.unwrap_or(if has_password { UserStatus::Active } else { UserStatus::ActivationSent })
}

async fn update_one<C: Conn>(conn: &mut C, actor: Actor, item: MemberUpdate) -> Result<Member, Error> {
    actor.ensure_can_update_user(item.user_id)?;
    let identity = item.patch.touches_identity();
    let (current, shared) =
        members_for_update(conn, actor.account_id, &[item.user_id], identity, asks_shared(&actor, &item))
            .await?
            .remove(&item.user_id)
            .ok_or_else(|| Error::UnknownUser(item.user_id.to_string()))?;
    let mut identity = IdentityWrites::default();
    let member = apply_update(conn, &actor, item, current, shared, &mut identity).await?;
    identity.write(conn).await?;
    Ok(member)
}

/// Whether the item needs to know if its member's identity is shared: only
/// someone else changing the identity does.
fn asks_shared(actor: &Actor, item: &MemberUpdate) -> bool {
    item.patch.touches_identity() && !actor.is_self(item.user_id)
}

/// Applies an update to the member read for it (see [`members_for_update`]),
/// but for its identity, which it adds to `identities` for the caller to write.
async fn apply_update<C: Conn>(
    conn: &mut C,
    actor: &Actor,
    item: MemberUpdate,
    current: Member,
    shared: bool,
    identities: &mut IdentityWrites,
) -> Result<Member, Error> {
    let MemberUpdate { user_id, patch, if_match } = item;
    actor.ensure_can_apply(&current, shared, &patch)?;
    if if_match.is_some_and(|(view, tags)| !tags.contains(&current.tag(view))) {
        return Err(Error::PreconditionFailed);
    }
    let now = Timestamp::now();

    let mut new_user = None;
    if patch.touches_identity() {
        let mut user = current.user.clone();
        patch.apply_to(&mut user);
        user.updated_at = now;
        user.version += 1;
        identities.add(user.clone(), patch.password_hash.as_ref().map(|h| h.0.clone()));
        new_user = Some(user);
    }

    let mut new_settings = None;
    if let Some(change) = patch.settings.clone() {
        let mut settings = current.settings.clone();
        settings.apply(change, &current.profile.caps, actor.caps.manage_users, actor.user_id, now)?;
        conn.execute(
            UPDATE_SETTINGS,
            args![to_json(&settings), now.0, actor.account_id.0, user_id.to_string(), current.version],
        )
        .await
        .map_err(db_error)?;
        new_settings = Some(settings);
    }

    let status = patch.status.unwrap_or(current.status);
    let profile = match patch.target_profile(&current) {
        Some(target) => {
            let profile = resolve_profile(conn, actor.account_id, target).await?;
            actor.ensure_can_grant(&profile.caps)?;
            profile
        }
        None => current.profile.clone(),
    };
    let rights_changed = status != current.status || profile.id != current.profile.id;
    if rights_changed {
        conn.execute(
            "UPDATE memberships SET status = $1, profile_id = $2, updated_at = $3, version = version + 1 \
             WHERE account_id = $4 AND user_id = $5",
            args![status.as_str(), profile.id.0, now.0, actor.account_id.0, user_id.to_string()],
        )
        .await
        .map_err(db_error)?;
        if current.is_active_admin() {
            ensure_an_admin_remains(conn, actor.account_id).await?;
        }
    }
    // The member as the writes leave it: read back when its rights changed,
    // else (the hot cases) without reading it back; its identity as the
    // caller will write it.
    let mut member = if rights_changed {
        member_in(conn, actor.account_id, user_id)
            .await?
            .ok_or_else(|| Error::Internal("updated member vanished".into()))?
    } else {
        let mut member = current;
        if let Some(settings) = new_settings {
            member.settings = settings;
            member.updated_at = now;
            member.version += 1;
        }
        member
    };
    if let Some(user) = new_user {
        member.user = user;
    }
    Ok(member)
}

/// A member's settings and the capabilities of its profile, which their
/// tag covers.
pub struct SettingsOf {
    pub settings: UserSettings,
    pub caps: Capabilities,
}

impl SettingsOf {
    pub fn tag(&self) -> String {
        self.settings.tag(&self.caps)
    }
}

/// A change of one member's rows (its settings, a group of its custom
/// settings), as the store's methods take it and [`crate::pg::Together`]
/// batches it; `if_match` lists the tags of the states it may apply to.
pub(crate) struct MemberChange<C> {
    pub(crate) actor: Actor,
    pub(crate) user: UserId,
    pub(crate) change: C,
    pub(crate) if_match: Option<Vec<String>>,
}

impl<C> MemberChange<C> {
    /// The member whose rows it changes.
    pub(crate) fn member(&self) -> (AccountId, UserId) {
        (self.actor.account_id, self.user)
    }
}

/// Applies settings changes, of one member each: reads their members'
/// settings, applies each change, and writes those that apply, with one
/// statement each way (per account) on PostgreSQL ([`crate::pg::Together`]).
/// With other writers (PostgreSQL), the read locks the membership rows
/// until the transaction ends.
pub(crate) async fn set_settings<C: Conn>(
    conn: &mut C,
    jobs: &[MemberChange<SettingsPatch>],
) -> Result<Vec<Result<SettingsOf, Error>>, Error> {
    const READ: &str = "SELECT m.user_id, m.seq, m.settings, m.version, p.settings AS profile_settings, \
         p.builtin AS profile_builtin FROM memberships m JOIN permission_profiles p ON p.id = m.profile_id \
         WHERE m.account_id = $1 AND m.user_id";
    let lock = if conn.single_writer() { "" } else { LOCK_MEMBERS };
    // Found by a look through (a batch is small, and most are of one).
    let mut rows = Vec::with_capacity(jobs.len());
    for (account, users) in by_account(jobs) {
        for row in conn.fetch_among(READ, args![account.0], users, lock).await.map_err(db_error)? {
            rows.push((account, row.text("user_id")?, row));
        }
    }
    let now = Timestamp::now();
    let mut writes = Vec::new();
    let outcomes = jobs
        .iter()
        .map(|job| {
            let user = job.user.to_string();
            let (_, _, row) = rows
                .iter()
                .find(|(account, of, _)| *account == job.actor.account_id && *of == user)
                .ok_or(Error::UnknownUser(user))?;
            let mut current = SettingsOf { settings: json(&row.text("settings")?)?, caps: profile_caps(row)? };
            if job.if_match.as_ref().is_some_and(|tags| !tags.contains(&current.tag())) {
                return Err(Error::PreconditionFailed);
            }
            let (manage_users, by) = (job.actor.caps.manage_users, job.actor.user_id);
            current.settings.apply(job.change.clone(), &current.caps, manage_users, by, now)?;
            writes.push(args![row.int("seq")?, to_json(&current.settings), now.0, row.int("version")? + 1]);
            Ok(current)
        })
        .collect();
    // By the row's key, read above: on SQLite one b-tree to descend instead
    // of the `(account_id, user_id)` index and then the table (the writer
    // spent about 1.5 µs less per settings update). The one write, and
    // the last statement ([`Undo::LastStatement`]); `COMMIT` goes with it.
    conn.commit_with_next();
    if conn.single_writer() {
        // A batch of one, with its statement's text as it is: building it
        // (`Conn::update_rows`) cost an eighth of the writer's instructions.
        const WRITE: &str = "UPDATE memberships SET settings = $2, updated_at = $3, version = $4 WHERE seq = $1";
        for write in writes {
            conn.execute(WRITE, write).await.map_err(db_error)?;
        }
    } else {
        let columns = ["seq", "settings", "updated_at", "version"];
        conn.update_rows("memberships", &columns, &[], writes).await.map_err(db_error)?;
    }
    Ok(outcomes)
}

/// The end of a statement that reads members `m` to change them, with other
/// writers (PostgreSQL): their rows stay locked until the transaction ends,
/// locked in one order, the ids' bytes (as every transaction that locks
/// several members does), so that two transactions cannot deadlock.
pub(crate) const LOCK_MEMBERS: &str = " ORDER BY m.user_id COLLATE \"C\" FOR NO KEY UPDATE OF m";

/// The users the jobs change, by account, in the order first met.
pub(crate) fn by_account<C>(jobs: &[MemberChange<C>]) -> Vec<(AccountId, Vec<String>)> {
    let mut accounts: Vec<(AccountId, Vec<String>)> = Vec::new();
    for (account, user) in jobs.iter().map(MemberChange::member) {
        match accounts.iter_mut().find(|(of, _)| *of == account) {
            Some((_, users)) => users.push(user.to_string()),
            None => accounts.push((account, vec![user.to_string()])),
        }
    }
    accounts
}

/// The outcome of work on a batch of one job: the job's.
pub(crate) fn only<T>(outcomes: Result<Vec<Result<T, Error>>, Error>) -> Result<T, Error> {
    outcomes?.pop().unwrap_or_else(|| Err(Error::Internal("a write did not run".into())))
}

/// Members read to be changed, by user (those found): with several writers
/// (PostgreSQL) their membership rows, and their identity rows when
/// `identity` is to change, stay locked until the transaction ends, so
/// concurrent changes of one member apply one after the other. (`NO KEY`:
/// as strong as an `UPDATE` of the rows, and no stronger. A lock is a write
/// of the row, so identities that will not change are not locked.) With
/// `ask_shared`, also whether another account shares each one's identity
/// (else `false`), in the same statement.
async fn members_for_update<C: Conn>(
    conn: &mut C,
    account: AccountId,
    users: &[UserId],
    identity: bool,
    ask_shared: bool,
) -> Result<HashMap<UserId, (Member, bool)>, Error> {
    // Locked in one order (see `LOCK_MEMBERS`).
    let lock = match (conn.single_writer(), identity) {
        (true, _) => "",
        (false, true) => " ORDER BY m.user_id COLLATE \"C\" FOR NO KEY UPDATE OF m, u",
        (false, false) => LOCK_MEMBERS,
    };
    let select = if ask_shared { MEMBER_SELECT_WITH_OTHERS } else { MEMBER_SELECT };
    let mut keys: Vec<String> = users.iter().map(UserId::to_string).collect();
    keys.sort_unstable();
    keys.dedup();
    let sql = format!("{select} WHERE m.account_id = $1 AND m.user_id");
    let rows = conn.fetch_among(&sql, args![account.0], keys, lock).await.map_err(db_error)?;
    let mut found = HashMap::with_capacity(users.len());
    for row in rows {
        let shared = ask_shared && row.int("others")? > 0;
        let member = member_from_row(&row)?;
        found.insert(member.user.id, (member, shared));
    }
    Ok(found)
}

/// Refuses a change that leaves the account without an active administrator
/// (it would be locked out); run inside the changing transaction.
pub(crate) async fn ensure_an_admin_remains(conn: &mut impl Conn, account: AccountId) -> Result<(), Error> {
    if active_admins(conn, account).await? == 0 {
        return Err(Error::LastAdmin);
    }
    Ok(())
}

async fn active_admins(conn: &mut impl Conn, account: AccountId) -> Result<i64, Error> {
    conn.fetch_count(
        "SELECT COUNT(*) AS n FROM memberships m JOIN permission_profiles p ON p.id = m.profile_id \
         WHERE m.account_id = $1 AND p.account_management <> 0 AND m.status NOT IN ('Closed', 'Disabled')",
        args![account.0],
    )
    .await
}

async fn resolve_profile(conn: &mut impl Conn, account: AccountId, target: ProfileTarget) -> Result<ProfileRef, Error> {
    const SELECT: &str =
        "SELECT id, name, settings AS profile_settings, builtin AS profile_builtin FROM permission_profiles WHERE account_id = $1";
    let row = match target {
        ProfileTarget::Id(id) => conn.fetch_optional(&format!("{SELECT} AND id = $2"), args![account.0, id.0]).await,
        ProfileTarget::Builtin(b) => {
            conn.fetch_optional(&format!("{SELECT} AND builtin = $2"), args![account.0, b.key()]).await
        }
    }
    .map_err(db_error)?;
    let Some(row) = row else {
        return Err(match target {
            ProfileTarget::Id(id) => Error::UnknownProfile(id.to_string()),
            ProfileTarget::Builtin(b) => Error::Internal(format!("account {account} lacks its {} profile", b.name())),
        });
    };
    Ok(ProfileRef { id: ProfileId(row.int("id")?), name: row.text("name")?, caps: profile_caps(&row)? })
}

/// Adds memberships (user, status, profile, settings JSON) with one statement.
/// A new membership: user, membership id, status, profile, settings (JSON).
type MembershipRow = (UserId, Uuid, UserStatus, ProfileId, String);

/// The first of `n` positions in the account for new members, taken with
/// one update of its count, where several writers need it (PostgreSQL,
/// migration 0008). `None` on SQLite: there its trigger numbers the rows,
/// which costs nothing with a single writer.
async fn reserve_positions(conn: &mut impl Conn, account: AccountId, n: usize) -> Result<Option<i64>, Error> {
    if conn.single_writer() {
        return Ok(None);
    }
    conn.fetch_count(
        "UPDATE accounts SET member_count = member_count + $1 WHERE id = $2 RETURNING member_count - $1 AS n",
        args![n as i64, account.0],
    )
    .await
    .map(Some)
}

/// Inserts memberships; with `first`, the rows take positions `first`,
/// `first + 1`, ... (see [`reserve_positions`]).
pub(crate) async fn insert_memberships(
    conn: &mut impl Conn,
    account: AccountId,
    rows: &[MembershipRow],
    first: Option<i64>,
    now: Timestamp,
) -> Result<(), DbError> {
    let position = if first.is_some() { ", position" } else { "" };
    let insert = format!(
        "INSERT INTO memberships (account_id, user_id, membership_id, status, profile_id, added_at, updated_at, settings{position})"
    );
    let rows = rows.iter().enumerate().map(|(i, (user, membership, status, profile, settings))| {
        let mut row = args![
            account.0,
            user.to_string(),
            membership.to_string(),
            status.as_str(),
            profile.0,
            now.0,
            now.0,
            settings
        ];
        row.extend(first.map(|first| Arg::from(first + i as i64)));
        row
    });
    conn.insert_rows(&insert, rows.collect(), "").await
}

pub(crate) async fn member_in(conn: &mut impl Conn, account: AccountId, user: UserId) -> Result<Option<Member>, Error> {
    let row = conn
        .fetch_optional(
            &format!("{MEMBER_SELECT} WHERE m.account_id = $1 AND m.user_id = $2"),
            args![account.0, user.to_string()],
        )
        .await
        .map_err(db_error)?;
    row.as_ref().map(member_from_row).transpose()
}

/// Inserts a new identity inside a savepoint; `None` when a concurrent
/// transaction took the email first (the caller then joins that identity).
async fn insert_new_identity(conn: &mut impl Conn, new: &NewMember, now: Timestamp) -> Result<Option<UserId>, Error> {
    let user = UserId::new();
    let savepoint = Savepoint::begin(conn, "new_identity").await?;
    match insert_identity(conn, user, new, false, now).await {
        Ok(()) => {
            savepoint.end(conn, true).await?;
            Ok(Some(user))
        }
        Err(Error::EmailTaken(_)) => {
            savepoint.end(conn, false).await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn insert_identity(
    conn: &mut impl Conn,
    user: UserId,
    new: &NewMember,
    site_admin: bool,
    now: Timestamp,
) -> Result<(), Error> {
    let identity = new_identity(user, new, site_admin, now);
    insert_identities(conn, &[(&identity, password_of(new))]).await.map_err(|e| {
        if e.is_unique_violation() {
            Error::EmailTaken(new.email.to_string())
        } else {
            db_error(e)
        }
    })
}

/// Inserts identities, each with its password hash, with one statement (a
/// bulk create writes hundreds).
async fn insert_identities(conn: &mut impl Conn, rows: &[(&Identity, Option<&str>)]) -> Result<(), DbError> {
    let insert = format!("INSERT INTO users ({}, site_admin, created_at, updated_at)", IDENTITY_COLUMNS.join(", "));
    let rows = rows.iter().map(|(user, password_hash)| {
        let mut row = identity_args(user, *password_hash);
        row.extend(args![user.site_admin as i64, user.created_at.0, user.updated_at.0]);
        row
    });
    conn.insert_rows(&insert, rows.collect(), "").await
}

/// The columns an insert and an update of an identity both write, in the
/// order of [`identity_args`].
const IDENTITY_COLUMNS: [&str; 15] = [
    "id",
    "email",
    "email_norm",
    "user_name",
    "first_name",
    "middle_name",
    "last_name",
    "suffix_name",
    "title",
    "job_title",
    "company",
    "country_code",
    "work_address",
    "home_address",
    "password_hash",
];

fn identity_args(user: &Identity, password_hash: Option<&str>) -> Vec<Arg> {
    let n = &user.names;
    args![
        user.id.to_string(),
        &user.email,
        normalize_email(&user.email),
        &user.user_name,
        n.first_name.as_deref(),
        n.middle_name.as_deref(),
        n.last_name.as_deref(),
        n.suffix_name.as_deref(),
        n.title.as_deref(),
        user.job_title.as_deref(),
        user.company.as_deref(),
        user.country_code.as_deref(),
        address_json(&user.work_address),
        address_json(&user.home_address),
        password_hash,
    ]
}

/// Identities changed by updates, written together at the end (one
/// statement for them all on PostgreSQL, where each is a round trip): the
/// last state of each user, with the last new password hash any of its
/// updates set.
#[derive(Default)]
struct IdentityWrites {
    rows: Vec<(Identity, Option<String>)>,
    at: HashMap<UserId, usize>,
}

impl IdentityWrites {
    fn add(&mut self, user: Identity, password_hash: Option<String>) {
        match self.at.get(&user.id) {
            Some(&at) => {
                let (held, held_hash) = &mut self.rows[at];
                *held = user;
                *held_hash = password_hash.or(held_hash.take());
            }
            None => {
                self.at.insert(user.id, self.rows.len());
                self.rows.push((user, password_hash));
            }
        }
    }

    async fn write(self, conn: &mut impl Conn) -> Result<(), Error> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let columns: Vec<&str> =
            IDENTITY_COLUMNS.into_iter().chain(["updated_at", "version", "personal_profile"]).collect();
        // Of one row, the email another identity has; of many (a bulk
        // update in one piece), any failure is redone item by item.
        let taken = match &self.rows[..] {
            [(user, _)] => Some(user.email.clone()),
            _ => None,
        };
        let rows = self.rows.iter().map(|(user, password_hash)| {
            let mut row = identity_args(user, password_hash.as_deref());
            row.extend(args![user.updated_at.0, user.version, to_json(&user.personal)]);
            row
        });
        // A null password hash keeps the one there.
        let written = conn.update_rows("users", &columns, &["password_hash"], rows.collect()).await;
        written.map_err(|e| match taken {
            Some(email) if e.is_unique_violation() => Error::EmailTaken(email),
            _ => db_error(e),
        })
    }
}

/// The capabilities of the profile in a row (`profile_settings`, `profile_builtin`).
pub(crate) fn profile_caps(row: &impl Row) -> Result<Capabilities, Error> {
    let settings: RoleSettings = json(&row.text("profile_settings")?)?;
    let builtin = row.opt_text("profile_builtin")?;
    Ok(settings.capabilities(builtin.as_deref().and_then(BuiltinProfile::from_key)))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, Error> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("malformed JSON in database: {e}")))
}

fn json_or_default<T: serde::de::DeserializeOwned + Default>(s: Option<String>) -> Result<T, Error> {
    s.map(|s| json(&s)).transpose().map(Option::unwrap_or_default)
}

pub(crate) fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("domain values always serialize")
}

fn address_json(a: &Option<Address>) -> Option<String> {
    a.as_ref().map(|a| serde_json::to_string(a).expect("an address always serializes"))
}

fn address_from(s: Option<String>) -> Result<Option<Address>, Error> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| Error::Internal(format!("malformed address in database: {e}"))))
        .transpose()
}

/// `%s%` with LIKE's own wildcards escaped, so a substring means a substring.
pub(crate) fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

pub(crate) fn member_from_row(row: &impl Row) -> Result<Member, Error> {
    let text = |name: &str| row.text(name);
    let opt = |name: &str| row.opt_text(name);
    let int = |name: &str| row.int(name);
    Ok(Member {
        user: Identity {
            id: UserId(parse_uuid(&text("user_id")?)?),
            email: text("email")?,
            user_name: text("user_name")?,
            names: PersonalNames {
                first_name: opt("first_name")?,
                middle_name: opt("middle_name")?,
                last_name: opt("last_name")?,
                suffix_name: opt("suffix_name")?,
                title: opt("title")?,
            },
            job_title: opt("job_title")?,
            company: opt("company")?,
            country_code: opt("country_code")?,
            work_address: address_from(opt("work_address")?)?,
            home_address: address_from(opt("home_address")?)?,
            site_admin: int("site_admin")? != 0,
            created_at: Timestamp(int("created_at")?),
            updated_at: Timestamp(int("updated_at")?),
            version: int("user_version")?,
            personal: json_or_default(opt("personal_profile")?)?,
            opted_notifications: opt("opted_notifications")?.map(|s| json(&s)).transpose()?,
        },
        account_id: AccountId(int("account_id")?),
        membership_id: parse_uuid(&text("membership_id")?)?,
        status: text("status")?.parse()?,
        profile: ProfileRef {
            id: ProfileId(int("profile_id")?),
            name: text("profile_name")?,
            caps: profile_caps(row)?,
        },
        added_at: Timestamp(int("added_at")?),
        updated_at: Timestamp(int("m_updated_at")?),
        version: int("version")?,
        settings: json(&text("settings")?)?,
    })
}
