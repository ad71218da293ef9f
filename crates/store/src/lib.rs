//! Persistence behind one interface, [`Store`], for SQLite and PostgreSQL.
//!
//! The SQL is written once in the portable subset both engines share
//! (`$N` placeholders, `RETURNING`, `ON CONFLICT`) and runs through sqlx's
//! `Any` driver; only the migrations differ per backend. On SQLite one
//! writer at a time writes, so writers queue in Roster instead of failing
//! with `SQLITE_BUSY`; readers use their own pool (WAL lets them run beside
//! the writer). The hot writes run on a writer thread with its own
//! connection ([`writer`]) on SQLite, and on tokio-postgres connections
//! ([`pg`]) on PostgreSQL, through the same logic ([`sql::Conn`]).

mod accounts;
mod custom;
mod groups;
mod idempotency;
mod members;
mod pg;
mod profiles;
mod rate;
mod site;
mod sql;
mod tokens;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use roster_domain::Error;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub use accounts::NewAccount;
pub use custom::CustomChange;
pub use groups::{GroupChange, NewGroup};
pub use idempotency::{IdempotencyStart, IDEMPOTENCY_TTL_SECONDS};
pub use members::{MemberUpdate, SettingsOf};
pub use profiles::{ProfileChange, ProfileUsers};
pub use site::{Principal, Session};

/// The database's change counters (PostgreSQL): `every` moves after every
/// write request, `auth` only after those that may change authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    pub every: i64,
    pub auth: i64,
}

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool sizes, timeouts, and SQLite's durability level.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub sqlite_synchronous: SqliteSynchronous,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::Full,
        }
    }
}

/// When SQLite (in WAL mode) forces a commit to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSynchronous {
    /// Every commit is fsynced before it is acknowledged: survives a crash
    /// of the process and of the machine.
    Full,
    /// The WAL is fsynced at checkpoints only: survives a crash of the
    /// process; a power loss may lose the last commits (never corrupts).
    Normal,
}

/// How long a PostgreSQL connection may sit idle before it is checked
/// again before use.
const PING_IDLE_AFTER: Duration = Duration::from_secs(5);

/// How long after a connection failed every PostgreSQL connection is
/// checked before use: an outage leaves dead ones in the pool.
const PING_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// When a database connection last failed, as milliseconds after `since`
/// plus one (0: never).
struct ConnectionFailures {
    since: std::time::Instant,
    last: std::sync::atomic::AtomicU64,
}

impl ConnectionFailures {
    fn now(&self) -> u64 {
        self.since.elapsed().as_millis() as u64 + 1
    }

    fn note(&self) {
        self.last.store(self.now(), std::sync::atomic::Ordering::Relaxed);
    }

    fn lately(&self) -> bool {
        let last = self.last.load(std::sync::atomic::Ordering::Relaxed);
        last != 0 && self.now() - last < PING_AFTER_FAILURE.as_millis() as u64
    }
}

/// For the whole process: [`db_error`] has no store at hand, and a failure
/// only makes every store ping for a while.
static CONNECTION_FAILURES: std::sync::LazyLock<ConnectionFailures> = std::sync::LazyLock::new(|| ConnectionFailures {
    since: std::time::Instant::now(),
    last: std::sync::atomic::AtomicU64::new(0),
});

/// Every SQLite connection's settings, besides [`SqliteSynchronous::pragma`].
/// A checkpoint (copying the WAL into the database file, with two flushes)
/// runs inside the commit that crosses `wal_autocheckpoint` pages and holds
/// up the writer; at 10,000 pages (40 MB of WAL) instead of SQLite's 1,000
/// it runs a tenth as often, and a page written many times in between is
/// copied once. The pools' page caches are 1 MiB each (SQLite's default is
/// 2): the hot reads are served by Roster's own caches, and every
/// connection would otherwise keep its own copy of the same pages.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
     PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -1024;";

impl SqliteSynchronous {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSynchronous::Full => "PRAGMA synchronous = FULL;",
            SqliteSynchronous::Normal => "PRAGMA synchronous = NORMAL;",
        }
    }
}

impl std::str::FromStr for SqliteSynchronous {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(SqliteSynchronous::Full),
            "normal" => Ok(SqliteSynchronous::Normal),
            other => Err(format!("'{other}' is not full or normal")),
        }
    }
}

/// The storage interface: every query Roster makes lives behind it. Cheap
/// to clone (every request's state holds one).
#[derive(Clone)]
pub struct Store(std::sync::Arc<Parts>);

impl std::ops::Deref for Store {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

#[doc(hidden)]
pub struct Parts {
    read: AnyPool,
    write: writer::SqlxWrites,
    backend: Backend,
    sqlite_file: Option<std::path::PathBuf>,
    /// The hot writes' thread, on a SQLite file (not in memory, where a
    /// second connection would be a second database).
    writer: Option<writer::Writer>,
    /// The hot writes' connections, on PostgreSQL.
    pg: Option<pg::PgWrites>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects (creating a SQLite file if missing). Does not migrate.
    pub async fn connect(url: &str, config: &PoolConfig) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.split(':').next().unwrap_or_default().to_owned()));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let sqlite_file = match backend {
            Backend::Sqlite if !url.contains(":memory:") => {
                Some(sqlx::sqlite::SqliteConnectOptions::from_str(&url)?.get_filename().to_owned())
            }
            _ => None,
        };
        // With `full`, a commit returns once its WAL frames are on disk. The
        // writer thread's batches get the same guarantee from its flusher
        // (group commit, see `writer`).
        let pragmas = [SQLITE_PRAGMAS, config.sqlite_synchronous.pragma()];
        let connection_failures = &*CONNECTION_FAILURES;
        let pool = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(config.acquire_timeout)
                // A SQLite connection is in-process and cannot break; a
                // PostgreSQL one can (restarts, failovers), so one that sat
                // idle, or any while connections have been failing, is
                // pinged before use and replaced if dead. One in steady use
                // is not: a ping is a round trip more per query.
                .test_before_acquire(false)
                .before_acquire(move |conn, meta| {
                    Box::pin(async move {
                        if backend == Backend::Postgres
                            && (meta.idle_for >= PING_IDLE_AFTER || connection_failures.lately())
                        {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            for pragma in pragmas {
                                conn.execute(pragma).await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let read = pool(config.max_connections).connect_with(options.clone()).await?;
        let turn = writer::Turn::default();
        let write = match backend {
            Backend::Sqlite => writer::SqlxWrites::new(pool(1).connect_with(options).await?, Some(turn.clone())),
            Backend::Postgres => writer::SqlxWrites::new(read.clone(), None),
        };
        let writer = match &sqlite_file {
            Some(file) => {
                Some(writer::Writer::start(file, &pragmas, config.sqlite_synchronous == SqliteSynchronous::Full, turn)?)
            }
            None => None,
        };
        let pg = match backend {
            Backend::Postgres => Some(pg::PgWrites::new(&url, config.max_connections, config.acquire_timeout)?),
            Backend::Sqlite => None,
        };
        Ok(Store(std::sync::Arc::new(Parts { read, write, backend, sqlite_file, writer, pg })))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether this process may be the only one writing the database, so
    /// that its caches need not hear of other writers: SQLite, where `serve`
    /// holds [`Store::lock_for_serving`]. PostgreSQL may have other nodes.
    pub fn single_node(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// The database's change counters (PostgreSQL only; see
    /// [`Store::note_change`]).
    pub async fn changes(&self) -> Result<Changes, Error> {
        let row = self
            .postgres()?
            .fetch_one(
                "SELECT (SELECT last_value FROM changes) AS every, (SELECT last_value FROM auth_changes) AS auth",
            )
            .await?;
        Ok(Changes { every: sql::Row::int(&row, "every")?, auth: sql::Row::int(&row, "auth")? })
    }

    /// Moves the change counters on after a write request (PostgreSQL
    /// only), the authentication counter only with `auth`: the other nodes
    /// then stop serving what they cached before it.
    pub async fn note_change(&self, auth: bool) -> Result<(), Error> {
        let sql = if auth { "SELECT nextval('changes'), nextval('auth_changes')" } else { "SELECT nextval('changes')" };
        self.postgres()?.fetch_one(sql).await.map(drop)
    }

    fn postgres(&self) -> Result<&pg::PgWrites, Error> {
        self.pg.as_ref().ok_or_else(|| Error::Internal("the change counter is PostgreSQL's".into()))
    }

    /// Claims a SQLite database for one serving process (`FILE.lock`, held
    /// while the returned file is open); a second server on the same file
    /// is refused. Command-line tools (token, backup) do not take it.
    pub fn lock_for_serving(&self) -> Result<Option<std::fs::File>, StoreError> {
        let Some(db) = &self.sqlite_file else { return Ok(None) };
        let mut path = db.clone().into_os_string();
        path.push(".lock");
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(db.display().to_string())),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    /// Brings the schema up to date; refuses a database newer than this binary.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *self.write.acquire().await?)
            .await
            .unwrap_or(None);
        if let Some(v) = applied.filter(|v| *v > known) {
            return Err(StoreError::SchemaTooNew { database: v, binary: known });
        }
        migrator.run(&mut *self.write.acquire().await?).await?;
        Ok(())
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, Error> {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.read)
            .await
            .map(Option::unwrap_or_default)
            .map_err(db_error)
    }

    /// Writes a consistent copy of a SQLite database to `path` while it keeps
    /// serving (`VACUUM INTO` reads one snapshot). Restoring is starting
    /// Roster on the copy.
    pub async fn backup_to(&self, path: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::BackupUnsupported);
        }
        if std::path::Path::new(path).exists() {
            return Err(StoreError::BackupTargetExists(path.to_owned()));
        }
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.read).await?;
        Ok(())
    }

    /// Answers whether the database responds (for readiness).
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.read).await.map(drop).map_err(db_error)
    }

    /// The sqlx write connection (on SQLite, with the turn to write).
    pub(crate) async fn writing(&self) -> Result<writer::Writing<sqlx::pool::PoolConnection<sqlx::Any>>, Error> {
        self.write.acquire().await.map_err(db_error)
    }

    /// Runs one administrative statement (tests create and drop databases with it).
    pub async fn execute_admin(&self, sql: &str) -> Result<(), Error> {
        let mut conn = self.writing().await?;
        sqlx::raw_sql(sql).execute(&mut *conn).await.map(drop).map_err(db_error)
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        if let Some(pg) = &self.pg {
            pg.close();
        }
        self.write.close().await;
        self.read.close().await;
    }
}

/// Failures of setting a store up (as opposed to serving requests, which
/// report the domain's [`Error`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL scheme '{0}': use sqlite://FILE or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl(String),
    #[error("the database schema is version {database}, newer than this binary knows ({binary}); upgrade Roster")]
    SchemaTooNew { database: i64, binary: i64 },
    #[error("backup copies SQLite databases; back PostgreSQL up with pg_dump or its own tools")]
    BackupUnsupported,
    #[error("{0} already exists; choose a new file for the backup")]
    BackupTargetExists(String),
    #[error(
        "another Roster server is serving {0}; a SQLite database has one server (run several nodes on PostgreSQL)"
    )]
    InUse(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("bad PostgreSQL URL: {0}")]
    PostgresUrl(String),
}

/// Maps a driver error to the domain: a database that cannot be reached is
/// `Unavailable` (503), anything else is a bug to log.
pub(crate) fn db_error(e: impl Into<sql::DbError>) -> Error {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.into() {
        // Waiting too long for a connection is load, not a failed connection.
        sql::DbError::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => Error::Unavailable,
        sql::DbError::Sqlx(sqlx::Error::Io(_) | sqlx::Error::Tls(_)) => {
            CONNECTION_FAILURES.note();
            Error::Unavailable
        }
        sql::DbError::Sqlx(sqlx::Error::Database(ref d)) if d.code().is_some_and(|c| unavailable_sqlstate(&c)) => {
            CONNECTION_FAILURES.note();
            Error::Unavailable
        }
        sql::DbError::Postgres(ref e)
            if e.is_closed()
                || e.code().is_some_and(|c| unavailable_sqlstate(c.code()))
                || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()) =>
        {
            CONNECTION_FAILURES.note();
            Error::Unavailable
        }
        sql::DbError::Sqlite(rusqlite::Error::SqliteFailure(ref f, _))
            if matches!(f.code, DatabaseBusy | DatabaseLocked) =>
        {
            Error::Unavailable
        }
        other => Error::Internal(other.to_string()),
    }
}

/// PostgreSQL error classes that mean "the database cannot serve now" rather
/// than "this query is wrong": connection exceptions (08), insufficient
/// resources (53), operator intervention (57: shutdown, cancelled), a database
/// that does not exist (3D000) or does not accept connections (55000, which
/// Roster's own queries never raise otherwise).
fn unavailable_sqlstate(code: &str) -> bool {
    ["08", "53", "57"].iter().any(|class| code.starts_with(class)) || code == "3D000" || code == "55000"
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Builds `$N` placeholders for SQL assembled at run time (the `Any`
/// driver passes SQL through, and both engines accept `$N`).
#[derive(Default)]
pub(crate) struct Params {
    n: usize,
}

impl Params {
    pub(crate) fn next(&mut self) -> String {
        self.n += 1;
        format!("${}", self.n)
    }

    /// `n` placeholders separated by commas.
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(", ")
    }
}
