//! Read caches for the hot paths: who a token belongs to, what a caller may
//! do in an account, and the rendered JSON of the documents read most (a
//! user, its settings, a group of its custom settings).
//!
//! Invalidation is deliberately coarse: every request that may write (any
//! method but GET, HEAD, OPTIONS) bumps a generation number when it ends,
//! and an entry is served only while the generation it was loaded at is
//! still current. An entry loaded concurrently with a write carries the
//! generation read *before* loading, so it can never outlive that write.
//! Nothing here has to know which write touches which document.
//!
//! There are two generations. Every write bumps the documents'. The
//! authentication entries (tokens, memberships) have their own, bumped by
//! every write except the few whose handler marks its answer
//! [`documents_only`]: writing a user's settings or custom settings cannot
//! change who a token is or what a caller may do, and without the mark a
//! stream of such writes would send every request back to the database to
//! authenticate.
//!
//! The caches are on only when this process is the only writer of the
//! database: SQLite (one Roster process per database file; `serve` holds a
//! lock on it). Several nodes on PostgreSQL cannot see each other's writes
//! here, so there every read goes to the database.

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use roster_domain::ids::{AccountId, AccountRef, UserId};
use roster_domain::model::{Account, Timestamp};
use roster_domain::policy::Actor;
use serde::Serialize;

use crate::etag::{etag, not_modified};

/// Most bytes of rendered documents kept (the memory target is for the
/// whole process, so this stays small; hot documents are a few KB each).
const DOCUMENT_BYTES: u64 = 16 << 20;
/// Most tokens and memberships kept.
const AUTH_ENTRIES: usize = 10_000;

/// A JSON document with its version tag, ready to send.
#[derive(Clone)]
pub struct Document {
    pub tag: String,
    pub body: Bytes,
}

impl Document {
    pub fn new(tag: String, body: &impl Serialize) -> Document {
        Document { tag, body: serde_json::to_vec(body).expect("wire types serialize").into() }
    }

    /// 304 when `If-None-Match` names the tag, else 200 with the body and `ETag`.
    pub fn respond(self, headers: &HeaderMap) -> Response {
        not_modified(headers, &self.tag).unwrap_or_else(|| {
            ([(ETAG, etag(&self.tag)), (CONTENT_TYPE, HeaderValue::from_static("application/json"))], self.body)
                .into_response()
        })
    }
}

/// Which document, rendered for which kind of caller.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum DocumentKey {
    User { account: AccountId, user: UserId, manager: bool, custom: bool },
    Settings { account: AccountId, user: UserId, manager: bool },
    Custom { account: AccountId, user: UserId, group: String },
}

#[derive(Clone)]
struct DocumentWeight;

impl Weighter<DocumentKey, (u64, Document)> for DocumentWeight {
    fn weight(&self, _: &DocumentKey, (_, doc): &(u64, Document)) -> u64 {
        doc.body.len() as u64 + doc.tag.len() as u64 + 64
    }
}

pub struct ReadCache {
    enabled: bool,
    auth_generation: AtomicU64,
    document_generation: AtomicU64,
    tokens: Cache<String, (u64, (UserId, Timestamp))>,
    actors: Cache<(UserId, AccountRef), (u64, (Account, Actor))>,
    documents: Cache<DocumentKey, (u64, Document), DocumentWeight>,
}

impl ReadCache {
    pub fn new(enabled: bool) -> Arc<ReadCache> {
        Arc::new(ReadCache {
            enabled,
            auth_generation: AtomicU64::new(0),
            document_generation: AtomicU64::new(0),
            tokens: Cache::new(AUTH_ENTRIES),
            actors: Cache::new(AUTH_ENTRIES),
            documents: Cache::with_weighter(4096, DOCUMENT_BYTES, DocumentWeight),
        })
    }

    /// Called when a request that may have written ends (after its commit),
    /// with what its handler said it wrote.
    pub fn invalidate(&self, scope: Written) {
        if scope == Written::Anything {
            self.auth_generation.fetch_add(1, Ordering::AcqRel);
        }
        self.document_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The token's user and expiry, loaded by `load` when not cached.
    pub async fn token<E>(
        &self,
        hash: &str,
        load: impl Future<Output = Result<(UserId, Timestamp), E>>,
    ) -> Result<(UserId, Timestamp), E> {
        self.through(&self.tokens, &self.auth_generation, hash.to_owned(), load).await
    }

    pub async fn actor<E>(
        &self,
        key: (UserId, AccountRef),
        load: impl Future<Output = Result<(Account, Actor), E>>,
    ) -> Result<(Account, Actor), E> {
        self.through(&self.actors, &self.auth_generation, key, load).await
    }

    pub async fn document<E>(
        &self,
        key: DocumentKey,
        load: impl Future<Output = Result<Document, E>>,
    ) -> Result<Document, E> {
        self.through(&self.documents, &self.document_generation, key, load).await
    }

    /// The cached value if it is of the current generation, else `load`'s
    /// (kept only if it succeeds; failures are never cached).
    async fn through<K, V, W, E>(
        &self,
        cache: &Cache<K, (u64, V), W>,
        generation: &AtomicU64,
        key: K,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E>
    where
        K: Eq + Hash + Clone,
        V: Clone,
        W: Weighter<K, (u64, V)> + Clone,
    {
        if !self.enabled {
            return load.await;
        }
        let generation = generation.load(Ordering::Acquire);
        if let Some((at, value)) = cache.get(&key) {
            if at == generation {
                return Ok(value);
            }
        }
        let value = load.await?;
        cache.insert(key, (generation, value.clone()));
        Ok(value)
    }
}

/// What a write request may have changed, for [`ReadCache::invalidate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// Only users' settings or custom settings: no token, membership,
    /// status or profile.
    DocumentsOnly,
    Anything,
}

/// Marks a successful answer of a handler that wrote only users' settings
/// or custom settings (see [`Written::DocumentsOnly`]). Answers without the
/// mark, errors included, count as having written anything.
pub fn documents_only(mut response: Response) -> Response {
    response.extensions_mut().insert(Written::DocumentsOnly);
    response
}
