use roster_domain::ids::UserId;
use roster_domain::model::Timestamp;
use roster_domain::Error;

use crate::accounts::parse_uuid;
use crate::{db_error, Store};

impl Store {
    /// Records an access token by its hash (the token itself is never stored).
    pub async fn insert_token(&self, token_hash: &str, user: UserId, expires_at: Timestamp) -> Result<(), Error> {
        sqlx::query("INSERT INTO access_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user.to_string())
            .bind(Timestamp::now().0)
            .bind(expires_at.0)
            .execute(&mut *self.writing().await?)
            .await
            .map(drop)
            .map_err(db_error)
    }

    /// The user a live (unexpired, unrevoked) token belongs to.
    pub async fn token_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<UserId>, Error> {
        Ok(self.token(token_hash).await?.filter(|(_, expires)| *expires > now).map(|(user, _)| user))
    }

    /// The user and expiry of an unrevoked token.
    pub async fn token(&self, token_hash: &str) -> Result<Option<(UserId, Timestamp)>, Error> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT user_id, expires_at FROM access_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(db_error)?;
        row.map(|(user, expires)| Ok((UserId(parse_uuid(&user)?), Timestamp(expires)))).transpose()
    }

    /// Revokes a token; revoking an unknown or already revoked token is not an error.
    pub async fn revoke_token(&self, token_hash: &str) -> Result<(), Error> {
        sqlx::query("UPDATE access_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash)
            .bind(Timestamp::now().0)
            .execute(&mut *self.writing().await?)
            .await
            .map(drop)
            .map_err(db_error)
    }
}
