//! Stored responses for `Idempotency-Key` retries, shared by every node.

use roster_domain::model::Timestamp;
use roster_domain::Error;
use sqlx::Row;

use crate::{db_error, is_unique_violation, Store};

/// How long a key is remembered.
pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;

/// What to do with a request that carries an idempotency key.
#[derive(Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First use: the key is reserved; run the request, then `finish` or `abandon`.
    New,
    /// A retry of a finished request: answer this.
    Replay { status: u16, content_type: Option<String>, body: String },
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key is still running (or its node died
    /// before recording the answer; then the key stays taken, rather than
    /// risk applying the request twice).
    InProgress,
}

impl Store {
    pub async fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<IdempotencyStart, Error> {
        let now = Timestamp::now();
        for _ in 0..2 {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(scope)
            .bind(key)
            .bind(fingerprint)
            .bind(now.0)
            .execute(&mut *self.writing().await?)
            .await;
            match inserted {
                Ok(_) => return Ok(IdempotencyStart::New),
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(db_error(e)),
            }
            let row = sqlx::query(
                "SELECT fingerprint, status, content_type, body, created_at FROM idempotency_keys \
                 WHERE scope = $1 AND idem_key = $2",
            )
            .bind(scope)
            .bind(key)
            .fetch_optional(&mut *self.writing().await?)
            .await
            .map_err(db_error)?;
            let Some(row) = row else { continue };
            let created: i64 = row.try_get("created_at").map_err(db_error)?;
            if created < now.plus_seconds(-IDEMPOTENCY_TTL_SECONDS).0 {
                self.delete_key(scope, key, Some(created)).await?;
                continue;
            }
            if row.try_get::<String, _>("fingerprint").map_err(db_error)? != fingerprint {
                return Ok(IdempotencyStart::Mismatch);
            }
            return Ok(match row.try_get::<Option<i64>, _>("status").map_err(db_error)? {
                None => IdempotencyStart::InProgress,
                Some(status) => IdempotencyStart::Replay {
                    status: u16::try_from(status).unwrap_or(500),
                    content_type: row.try_get("content_type").map_err(db_error)?,
                    body: row.try_get::<Option<String>, _>("body").map_err(db_error)?.unwrap_or_default(),
                },
            });
        }
        Ok(IdempotencyStart::InProgress)
    }

    /// Records the answer to replay for a reserved key.
    pub async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3 WHERE scope = $4 AND idem_key = $5",
        )
        .bind(i64::from(status))
        .bind(content_type)
        .bind(body)
        .bind(scope)
        .bind(key)
        .execute(&mut *self.writing().await?)
        .await
        .map(drop)
        .map_err(db_error)
    }

    /// Frees a reserved key whose request failed without effect, so a retry runs again.
    pub async fn idempotency_abandon(&self, scope: &str, key: &str) -> Result<(), Error> {
        self.delete_key(scope, key, None).await
    }

    async fn delete_key(&self, scope: &str, key: &str, created: Option<i64>) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND ($3 IS NULL OR created_at = $3)",
        )
        .bind(scope)
        .bind(key)
        .bind(created)
        .execute(&mut *self.writing().await?)
        .await
        .map(drop)
        .map_err(db_error)
    }

    /// Forgets expired idempotency keys, and tokens and sessions that expired a day ago.
    pub async fn purge_expired(&self) -> Result<(), Error> {
        let cutoff = Timestamp::now().plus_seconds(-IDEMPOTENCY_TTL_SECONDS).0;
        let mut conn = self.writing().await?;
        for sql in [
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            "DELETE FROM access_tokens WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
        ] {
            sqlx::query(sql).bind(cutoff).execute(&mut *conn).await.map_err(db_error)?;
        }
        // It takes the write connection itself.
        drop(conn);
        self.purge_rate_counters(Timestamp::now().0 / 1_000_000).await?;
        Ok(())
    }
}
