//! Site-wide state: security settings, the notification catalog, cookie
//! sessions, and the contact part of an identity (email, notification opt-ins).

use roster_domain::ids::UserId;
use roster_domain::model::{Identity, Timestamp};
use roster_domain::site::{SecuritySettings, BUILTIN_NOTIFICATION_GROUPS};
use roster_domain::validate::Email;
use roster_domain::Error;
use sqlx::Row;

use crate::accounts::parse_uuid;
use crate::members::to_json;
use crate::{db_error, is_unique_violation, Store};

/// A live cookie session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserId,
    pub csrf_hash: String,
    pub expires_at: Timestamp,
}

/// What the Akana surface needs to know of a caller.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    pub site_admin: bool,
    /// Whether the user may act in at least one account.
    pub active: bool,
}

impl Store {
    pub async fn security_settings(&self) -> Result<SecuritySettings, Error> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM site_settings WHERE name = 'security'")
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?;
        v.map(|v| serde_json::from_str(&v).map_err(|e| Error::Internal(format!("security settings: {e}"))))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Changes the security settings under a lock, so two administrators'
    /// changes to different settings both land.
    pub async fn update_security_settings(
        &self,
        change: impl FnOnce(&mut SecuritySettings) -> Result<(), Error>,
    ) -> Result<SecuritySettings, Error> {
        let mut tx = self.write.begin().await.map_err(db_error)?;
        sqlx::query("INSERT INTO site_settings (name, value) VALUES ('security', $1) ON CONFLICT (name) DO NOTHING")
            .bind(to_json(&SecuritySettings::default()))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        // A no-op update takes the row lock on PostgreSQL before the read.
        sqlx::query("UPDATE site_settings SET value = value WHERE name = 'security'")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let v: String = sqlx::query_scalar("SELECT value FROM site_settings WHERE name = 'security'")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut settings: SecuritySettings =
            serde_json::from_str(&v).map_err(|e| Error::Internal(format!("security settings: {e}")))?;
        change(&mut settings)?;
        sqlx::query("UPDATE site_settings SET value = $1 WHERE name = 'security'")
            .bind(to_json(&settings))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(settings)
    }

    /// The notification groups users may opt in to: built-in ones, then
    /// added ones in the order they were added.
    pub async fn notification_groups(&self) -> Result<Vec<String>, Error> {
        let mut names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM notification_groups ORDER BY created_at, name")
                .fetch_all(&self.read)
                .await
                .map_err(db_error)?;
        // Built-in groups in their documented order, before the added ones (a stable sort).
        names.sort_by_key(|n| BUILTIN_NOTIFICATION_GROUPS.iter().position(|b| b == n).unwrap_or(usize::MAX));
        Ok(names)
    }

    /// Adds a group to the catalog; true when it is new.
    pub async fn add_notification_group(&self, name: &str) -> Result<bool, Error> {
        let done = sqlx::query(
            "INSERT INTO notification_groups (name, builtin, created_at) VALUES ($1, 0, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(Timestamp::now().0)
        .execute(&mut *self.writing().await?)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_session(
        &self,
        user: UserId,
        token_hash: &str,
        csrf_hash: &str,
        expires_at: Timestamp,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user.to_string())
        .bind(csrf_hash)
        .bind(Timestamp::now().0)
        .bind(expires_at.0)
        .execute(&mut *self.writing().await?)
        .await
        .map(drop)
        .map_err(db_error)
    }

    /// A live (unexpired, not ended) session by its token's hash.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>, Error> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token, expires_at FROM sessions \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(Timestamp::now().0)
        .fetch_optional(&self.read)
        .await
        .map_err(db_error)?;
        row.map(|r| {
            Ok(Session {
                user: UserId(parse_uuid(&r.try_get::<String, _>("user_id").map_err(db_error)?)?),
                csrf_hash: r.try_get("csrf_token").map_err(db_error)?,
                expires_at: Timestamp(r.try_get("expires_at").map_err(db_error)?),
            })
        })
        .transpose()
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<(), Error> {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash)
            .bind(Timestamp::now().0)
            .execute(&mut *self.writing().await?)
            .await
            .map(drop)
            .map_err(db_error)
    }

    pub async fn principal(&self, user: UserId) -> Result<Option<Principal>, Error> {
        let row = sqlx::query(
            "SELECT u.site_admin, CASE WHEN EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id \
             AND m.status NOT IN ('Closed', 'Disabled')) THEN 1 ELSE 0 END AS active FROM users u WHERE u.id = $1",
        )
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await
        .map_err(db_error)?;
        row.map(|r| {
            Ok(Principal {
                site_admin: r.try_get::<i64, _>("site_admin").map_err(db_error)? != 0,
                active: r.try_get::<i64, _>("active").map_err(db_error)? != 0,
            })
        })
        .transpose()
    }

    /// Changes a user's email and/or notification opt-ins in one
    /// transaction; an email another user has is refused (`EmailTaken`).
    pub async fn update_contact(
        &self,
        user: UserId,
        email: Option<&Email>,
        opted: Option<&[String]>,
    ) -> Result<Identity, Error> {
        let mut tx = self.write.begin().await.map_err(db_error)?;
        let now = Timestamp::now();
        if let Some(email) = email {
            sqlx::query(
                "UPDATE users SET email = $1, email_norm = $2, updated_at = $3, version = version + 1 WHERE id = $4",
            )
            .bind(email.as_str())
            .bind(email.normalized())
            .bind(now.0)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::EmailTaken(email.to_string())
                } else {
                    db_error(e)
                }
            })?;
        }
        if let Some(opted) = opted {
            sqlx::query("UPDATE users SET opted_notifications = $1, updated_at = $2 WHERE id = $3")
                .bind(to_json(&opted))
                .bind(now.0)
                .bind(user.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.identity(user).await
    }
}
