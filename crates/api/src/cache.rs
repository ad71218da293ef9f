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
//! [`Written::DocumentsOnly`]: writing a user's
//! settings or custom settings cannot change who a token is or what a
//! caller may do, and without the mark a stream of such writes would send
//! every request back to the database to authenticate. (So do the
//! database's counters below: one for every write, one for authentication.)
//! A request refused before it could write ([`Written::Nothing`]: a
//! rejection of the extractors, an unknown route, a client error of those
//! handlers) bumps neither.
//!
//! On SQLite this process is the only writer (`serve` holds a lock on the
//! file), so its own generations say everything. Several nodes on
//! PostgreSQL also need each other's writes: there every write request ends
//! by moving the database's change counters on (before it is answered, see
//! [`ReadCache::publish`]), an entry remembers the counter read before it
//! was loaded, and a request reads the counter once, when it first needs
//! it, and is served only entries of that value. An entry is served only if
//! no write finished between its loading and the request's start, on any
//! node. Concurrent requests share one read of the counter
//! ([`Coalesced`]), so a burst costs one round trip, not one each; so do
//! the moves of concurrent write requests.

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use roster_domain::ids::{AccountId, AccountRef, UserId};
use roster_domain::model::{Account, Timestamp};
use roster_domain::policy::Actor;
use roster_domain::Error;
use roster_store::{Changes, Store};
use serde::Serialize;
use tokio::sync::{oneshot, OnceCell};

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

/// When an entry was loaded: the local generation, and the database's
/// change counter of the same scope (always 0 on SQLite).
type Loaded = (u64, i64);

impl Weighter<DocumentKey, (Loaded, Document)> for DocumentWeight {
    fn weight(&self, _: &DocumentKey, (_, doc): &(Loaded, Document)) -> u64 {
        doc.body.len() as u64 + doc.tag.len() as u64 + 64
    }
}

pub struct ReadCache {
    /// The change counter of a database other nodes write too.
    shared: Option<SharedCounter>,
    auth_generation: AtomicU64,
    document_generation: AtomicU64,
    tokens: Cache<String, (Loaded, (UserId, Timestamp))>,
    actors: Cache<(UserId, AccountRef), (Loaded, (Account, Actor))>,
    documents: Cache<DocumentKey, (Loaded, Document), DocumentWeight>,
}

/// What one request has seen of the database's change counter: read at most
/// once, when the request first looks in a cache. Every lookup of a request
/// goes through the same view.
#[derive(Clone, Default)]
pub struct RequestView(Arc<OnceCell<Changes>>);

impl ReadCache {
    pub fn new(store: &Store) -> Arc<ReadCache> {
        let shared = (!store.single_node()).then(|| SharedCounter::new(store));
        Arc::new(ReadCache {
            shared,
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
        match scope {
            Written::Nothing => return,
            Written::DocumentsOnly => {}
            Written::Anything => _ = self.auth_generation.fetch_add(1, Ordering::AcqRel),
        }
        self.document_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Tells the other nodes that a write request ended, if there are any
    /// (PostgreSQL). Awaited before the request is answered, so a client
    /// that reads on another node after its write is answered never gets an
    /// answer cached before it. Asks when called: the counters move even if
    /// the returned future is dropped. Concurrent requests share one move.
    pub fn publish(&self, scope: Written) -> impl Future<Output = Result<(), Error>> + use<> {
        let moved = self.shared.as_ref().and_then(|shared| match scope {
            Written::Anything => Some(shared.auth_moves.ask()),
            Written::DocumentsOnly => Some(shared.moves.ask()),
            Written::Nothing => None,
        });
        async move {
            match moved {
                Some(moved) => moved.await,
                None => Ok(()),
            }
        }
    }

    /// [`ReadCache::publish`] for a request that ended without answering.
    pub fn publish_in_background(&self, scope: Written) {
        if self.shared.is_some() {
            let published = self.publish(scope);
            tokio::spawn(async move {
                if let Err(e) = published.await {
                    tracing::error!(error = %e, "cannot tell the other nodes of a write");
                }
            });
        }
    }

    /// The token's user and expiry, loaded by `load` when not cached.
    pub async fn token(
        &self,
        view: &RequestView,
        hash: &str,
        load: impl Future<Output = Result<(UserId, Timestamp), Error>>,
    ) -> Result<(UserId, Timestamp), Error> {
        self.through(view, &self.tokens, Written::Anything, hash.to_owned(), load).await
    }

    pub async fn actor(
        &self,
        view: &RequestView,
        key: (UserId, AccountRef),
        load: impl Future<Output = Result<(Account, Actor), Error>>,
    ) -> Result<(Account, Actor), Error> {
        self.through(view, &self.actors, Written::Anything, key, load).await
    }

    pub async fn document(
        &self,
        view: &RequestView,
        key: DocumentKey,
        load: impl Future<Output = Result<Document, Error>>,
    ) -> Result<Document, Error> {
        self.through(view, &self.documents, Written::DocumentsOnly, key, load).await
    }

    /// The cached value if it was loaded at the current generation (and
    /// change counter) of the writes that invalidate it (authentication
    /// entries: writes of `Anything`; documents: every write), else
    /// `load`'s (kept only if it succeeds; failures are never cached).
    async fn through<K, V, W>(
        &self,
        view: &RequestView,
        cache: &Cache<K, (Loaded, V), W>,
        invalidated_by: Written,
        key: K,
        load: impl Future<Output = Result<V, Error>>,
    ) -> Result<V, Error>
    where
        K: Eq + Hash + Clone,
        V: Clone,
        W: Weighter<K, (Loaded, V)> + Clone,
    {
        let auth = invalidated_by == Written::Anything;
        let generation = if auth { &self.auth_generation } else { &self.document_generation }.load(Ordering::Acquire);
        let counter = match &self.shared {
            None => 0,
            Some(shared) => {
                let changes = view.0.get_or_try_init(|| shared.reads.ask()).await?;
                if auth {
                    changes.auth
                } else {
                    changes.every
                }
            }
        };
        let now = (generation, counter);
        if let Some((loaded, value)) = cache.get(&key) {
            if loaded == now {
                return Ok(value);
            }
        }
        let value = load.await?;
        cache.insert(key, (now, value.clone()));
        Ok(value)
    }
}

/// The database's change counters, read and moved on through
/// [`Coalesced`] calls: `moves` moves the counter of every write,
/// `auth_moves` both.
struct SharedCounter {
    reads: Arc<Coalesced<Changes>>,
    moves: Arc<Coalesced<()>>,
    auth_moves: Arc<Coalesced<()>>,
}

impl SharedCounter {
    fn new(store: &Store) -> SharedCounter {
        let read = store.clone();
        let mover = |auth: bool| {
            let store = store.clone();
            Coalesced::new(move || {
                let store = store.clone();
                async move { store.note_change(auth).await }
            })
        };
        SharedCounter {
            reads: Coalesced::new(move || {
                let store = read.clone();
                async move { store.changes().await }
            }),
            moves: mover(false),
            auth_moves: mover(true),
        }
    }
}

/// A database call shared by the requests that want it at the same time:
/// the counter's reads, and its moves. A request waits for the next call
/// that starts after it asked (never one already under way: a read might
/// predate a write the request must see, a move might predate the request's
/// own commit), and one call answers everyone who asked before it started.
/// The calls run in a task of their own, so one that started finishes even
/// if every request that asked for it is dropped.
struct Coalesced<T> {
    call: Call<T>,
    waiting: Mutex<Waiting<T>>,
}

type Call<T> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, Error>> + Send>> + Send + Sync>;

struct Waiting<T> {
    calling: bool,
    requests: Vec<oneshot::Sender<Result<T, Error>>>,
}

impl<T: Clone + Send + 'static> Coalesced<T> {
    fn new<F>(call: impl Fn() -> F + Send + Sync + 'static) -> Arc<Coalesced<T>>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        Arc::new(Coalesced {
            call: Box::new(move || Box::pin(call())),
            waiting: Mutex::new(Waiting { calling: false, requests: Vec::new() }),
        })
    }

    /// Asks at once (before the returned future is first polled) and
    /// waits for the answer.
    fn ask(self: &Arc<Self>) -> impl Future<Output = Result<T, Error>> + use<T> {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut waiting = self.waiting.lock().expect("coalesced lock");
            waiting.requests.push(answer);
            !std::mem::replace(&mut waiting.calling, true)
        };
        if start {
            tokio::spawn(self.clone().call_while_asked());
        }
        async move { answered.await.map_err(|_| Error::Unavailable)? }
    }

    async fn call_while_asked(self: Arc<Self>) {
        loop {
            let requests = {
                let mut waiting = self.waiting.lock().expect("coalesced lock");
                if waiting.requests.is_empty() {
                    waiting.calling = false;
                    return;
                }
                std::mem::take(&mut waiting.requests)
            };
            let outcome = (self.call)().await;
            for request in requests {
                let _ = request.send(outcome.clone());
            }
        }
    }
}

/// What a write request may have changed, for [`ReadCache::invalidate`].
/// Answers without a mark, errors included, count as having written anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// Nothing: a request refused before it could write. Without this, every
    /// refused request (a stale `If-Match`, a bad token) sent the requests
    /// after it back to the database to authenticate: a stream of 412 answers
    /// to settings PUTs ran at a third of its rate now (wrk, 19,500 against
    /// 58,800 a second).
    Nothing,
    /// Only users' settings or custom settings: no token, membership,
    /// status or profile.
    DocumentsOnly,
    Anything,
}

/// Marks an answer with what its request wrote.
pub fn written(scope: Written, mut response: Response) -> Response {
    response.extensions_mut().insert(scope);
    response
}
