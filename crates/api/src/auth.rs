//! Secrets: access tokens (random, stored as SHA-256) and passwords
//! (argon2id, hashed and verified off the async threads).

use std::sync::OnceLock;

use argon2::password_hash::{self, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use roster_domain::ids::UserId;
use roster_domain::model::Timestamp;
use roster_domain::validate::{Password, PasswordHash};
use roster_domain::Error;
use roster_store::Store;
use sha2::{Digest, Sha256};

/// A new random access token (256 bits, URL-safe).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token. A token has 256 bits of entropy, so
/// a fast hash is enough; looking it up by hash means no secret is compared
/// byte by byte in Roster.
pub fn token_hash(token: &str) -> String {
    const_hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks an email and password: the user, if it may act in some account.
/// Unknown emails, wrong passwords and closed users look the same.
pub async fn authenticate(store: &Store, email: &str, password: &str) -> Result<UserId, Error> {
    let (user, hash, can_act) = match store.login_record(email).await? {
        Some((user, hash, can_act)) => (Some(user), hash, can_act),
        None => (None, None, false),
    };
    // Verify even when the user is unknown, so timing reveals nothing.
    let ok = verify_password(password.to_owned(), hash).await?;
    match user {
        Some(user) if ok && can_act => Ok(user),
        _ => Err(Error::AuthenticationFailed),
    }
}

/// Issues a token for `user` valid for `ttl_seconds`.
pub async fn issue_token(store: &Store, user: UserId, ttl_seconds: i64) -> Result<String, Error> {
    let token = new_token();
    store.insert_token(&token_hash(&token), user, Timestamp::now().plus_seconds(ttl_seconds)).await?;
    Ok(token)
}

pub async fn hash_password(password: Password) -> Result<PasswordHash, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("hashing task: {e}")))?
}

/// Checks a password against a stored hash. With no hash (unknown user, or
/// a user without a password) it still spends the same work on a dummy, so
/// timing does not reveal which emails exist.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match &hash {
            Some(h) => (h.as_str(), true),
            None => (dummy_hash(), false),
        };
        let parsed =
            password_hash::PasswordHash::new(hash).map_err(|e| Error::Internal(format!("stored hash: {e}")))?;
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(|e| Error::Internal(format!("hashing task: {e}")))?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(b"roster-dummy-password", &salt).expect("argon2 hashes a constant").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_token());
        assert_eq!(token_hash("x"), token_hash("x"));
        assert_eq!(token_hash("x").len(), 64);
    }

    #[tokio::test]
    async fn passwords_verify() {
        let h = hash_password(Password::parse("password", "correct horse").unwrap()).await.unwrap();
        assert!(h.0.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.0.clone())).await.unwrap());
        assert!(!verify_password("wrong horse".into(), Some(h.0)).await.unwrap());
        assert!(!verify_password("roster-dummy-password".into(), None).await.unwrap());
    }
}
