use roster_domain::ids::{AccountId, AccountRef, UserId};
use roster_domain::model::{Account, BuiltinProfile, Member, NewMember, Timestamp};
use roster_domain::Error;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use uuid::Uuid;

use crate::members::{insert_identity, member_in};
use crate::{db_error, Store};

/// A new account and its first administrator.
pub struct NewAccount {
    pub name: String,
    pub admin: NewMember,
}

const ACCOUNT_COLUMNS: &str = "a.id, a.guid, a.name, a.created_at";

impl Store {
    /// Whether any account exists (first start creates one when none does).
    pub async fn has_accounts(&self) -> Result<bool, Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM accounts LIMIT 1) x")
            .fetch_one(&self.read)
            .await
            .map_err(db_error)?;
        Ok(n > 0)
    }

    /// Creates an account with its three built-in profiles and its admin, in
    /// one transaction. The first user ever created becomes the site admin.
    /// Refuses an email that already exists (`EmailTaken`).
    pub async fn create_account(&self, new: NewAccount) -> Result<(Account, Member), Error> {
        let mut tx = self.write.begin().await.map_err(db_error)?;
        let now = Timestamp::now();
        let guid = Uuid::new_v4();
        let id: i64 =
            sqlx::query_scalar("INSERT INTO accounts (guid, name, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(guid.to_string())
                .bind(&new.name)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        let account = Account { id: AccountId(id), guid, name: new.name, created_at: now };
        let mut admin_profile = 0;
        for builtin in BuiltinProfile::ALL {
            let management = builtin == BuiltinProfile::Administrator;
            let pid: i64 = sqlx::query_scalar(
                "INSERT INTO permission_profiles (account_id, name, name_norm, builtin, account_management, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(id)
            .bind(builtin.name())
            .bind(builtin.name().to_lowercase())
            .bind(builtin.key())
            .bind(management as i64)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
            if management {
                admin_profile = pid;
            }
        }
        Store::create_builtin_groups(&mut tx, account.id, now).await?;
        let first_user: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) x")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let user = UserId::new();
        insert_identity(&mut *tx, user, &new.admin, first_user == 0, now).await?;
        sqlx::query(
            "INSERT INTO memberships (account_id, user_id, membership_id, status, profile_id, added_at, updated_at) \
             VALUES ($1, $2, $3, 'Active', $4, $5, $5)",
        )
        .bind(id)
        .bind(user.to_string())
        .bind(Uuid::new_v4().to_string())
        .bind(admin_profile)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let member =
            member_in(&mut *tx, account.id, user).await?.ok_or_else(|| Error::Internal("admin vanished".into()))?;
        tx.commit().await.map_err(db_error)?;
        Ok((account, member))
    }

    pub async fn find_account(&self, r: AccountRef) -> Result<Option<Account>, Error> {
        let mut conn = self.read.acquire().await.map_err(db_error)?;
        find_account_in(&mut conn, r).await
    }

    /// The accounts a user may act in, oldest membership first.
    pub async fn accounts_of(&self, user: UserId) -> Result<Vec<Account>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a JOIN memberships m ON m.account_id = a.id \
             WHERE m.user_id = $1 AND m.status NOT IN ('Closed', 'Disabled') ORDER BY m.seq"
        ))
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(db_error)?;
        rows.iter().map(account_from_row).collect()
    }
}

pub(crate) async fn find_account_in(conn: &mut AnyConnection, r: AccountRef) -> Result<Option<Account>, Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE {}", account_clause(r));
    let row = bind_account(sqlx::query(&sql), r).fetch_optional(conn).await.map_err(db_error)?;
    row.as_ref().map(account_from_row).transpose()
}

/// The condition (on alias `a`, parameter `$1`) that finds an account by number or GUID;
/// [`bind_account`] binds its value.
pub(crate) fn account_clause(r: AccountRef) -> &'static str {
    match r {
        AccountRef::Number(_) => "a.id = $1",
        AccountRef::Guid(_) => "a.guid = $1",
    }
}

pub(crate) fn bind_account<'q>(q: Query<'q, Any, AnyArguments<'q>>, r: AccountRef) -> Query<'q, Any, AnyArguments<'q>> {
    match r {
        AccountRef::Number(n) => q.bind(n),
        AccountRef::Guid(g) => q.bind(g.to_string()),
    }
}

pub(crate) fn account_from_row(row: &AnyRow) -> Result<Account, Error> {
    Ok(Account {
        id: AccountId(row.try_get("id").map_err(db_error)?),
        guid: parse_uuid(&row.try_get::<String, _>("guid").map_err(db_error)?)?,
        name: row.try_get("name").map_err(db_error)?,
        created_at: Timestamp(row.try_get("created_at").map_err(db_error)?),
    })
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, Error> {
    Uuid::try_parse(s).map_err(|_| Error::Internal(format!("malformed uuid in database: {s}")))
}
