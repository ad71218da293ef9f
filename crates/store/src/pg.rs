//! PostgreSQL's hot writes (user updates, bulk creates, custom settings,
//! rate counters, the change counter) on tokio-postgres, through the same
//! write logic as the other connections ([`crate::sql::Conn`]).
//!
//! On PostgreSQL a write cost round trips more than the database's work:
//! the machine's CPU went to sending, waking and switching for each one.
//! Through sqlx a settings update was seven (`BEGIN`, the locked read, the
//! update, `COMMIT`, and a ping of each connection returned to its pool,
//! which sqlx always sends), and a bulk update of 100 about 200. Here the
//! pool does not ping a connection it takes back (deadpool's `Fast`
//! recycling: a closed connection is noticed by its task and replaced), and
//! statements go out together where the logic allows, since tokio-postgres
//! sends what it is given at once and reads the answers in order: `BEGIN`
//! with the transaction's first statement, and the writes held back by
//! [`Conn::hold_writes`]. Statements of many rows take one array per column
//! ([`Conn::insert_rows`], [`Conn::update_rows`], [`Conn::fetch_among`]):
//! one statement to plan and bind, for any number of rows. A bulk update is
//! a handful of round trips.
//!
//! The hot writes of one member each (settings, custom settings) go further:
//! those that arrive together run together, in one transaction on one
//! connection, with their statements interleaved ([`PgWrites::together`]).
//! PostgreSQL's cost is per transaction and per round trip more than per
//! row: pgbench on the seeded table made 10,500 settings updates a second
//! one transaction each, and 43,000 eight to a pipelined transaction.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use roster_domain::ids::{AccountId, UserId};
use roster_domain::Error;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Statement};

use crate::sql::{Arg, Conn, DbError, Row};
use crate::StoreError;

/// Most prepared statements kept per connection.
const MOST_STATEMENTS: usize = 256;

/// Most member writes in one transaction of [`PgWrites::together`].
const MOST_TOGETHER: usize = 128;

pub(crate) struct PgWrites {
    pool: Pool,
    /// Member writes for [`gather`] to run together.
    together: mpsc::UnboundedSender<Box<dyn MemberJob>>,
}

/// The work of [`PgWrites::together`]: it may run twice (see [`commit_together`]).
pub(crate) type Work<'c, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'c>>;

impl PgWrites {
    pub(crate) fn new(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<PgWrites, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::PostgresUrl(e.to_string()))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(max_connections as usize)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(acquire_timeout))
            .create_timeout(Some(acquire_timeout))
            .build()
            .map_err(|e| StoreError::PostgresUrl(e.to_string()))?;
        let (together, jobs) = mpsc::unbounded_channel();
        // Half the connections at most, so that the other writes find some.
        let slots = Arc::new(Semaphore::new((max_connections as usize / 2).max(1)));
        tokio::spawn(gather(pool.clone(), jobs, slots));
        Ok(PgWrites { pool, together })
    }

    /// Runs `work` on one member's rows in a transaction and commits it,
    /// together with the other members' work that came in meanwhile: one
    /// `BEGIN` and one `COMMIT` for them all, and their statements sent
    /// together. The work must lock the member's rows before it writes (so
    /// that two transactions cannot interleave one member's changes) and
    /// fail only before it writes; else, and when anything of the others
    /// fails, it runs again alone (so it must be able to run twice).
    pub(crate) async fn together<T: Send + 'static>(
        &self,
        account: AccountId,
        user: UserId,
        work: impl for<'c> Fn(&'c mut PgConn) -> Work<'c, T> + Send + Sync + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        let job = Job { member: (account, user), work, outcome: None, reply };
        self.together.send(Box::new(job)).map_err(|_| Error::Unavailable)?;
        answer.await.map_err(|_| Error::Unavailable)?
    }

    /// A connection for one transaction, begun with its first statement.
    pub(crate) async fn begin(&self) -> Result<PgConn, Error> {
        Ok(PgConn::new(Arc::new(connection(&self.pool).await?), Transaction::ToBegin))
    }

    /// One statement on its own (in a transaction of its own).
    pub(crate) async fn fetch_one(&self, sql: &str) -> Result<tokio_postgres::Row, Error> {
        let client = connection(&self.pool).await?;
        let statement = client.prepare_cached(sql).await.map_err(crate::db_error)?;
        client.query_one(&statement, &[]).await.map_err(crate::db_error)
    }

    pub(crate) fn close(&self) {
        self.pool.close();
    }
}

/// A connection inside a write transaction. Dropped before
/// [`PgConn::commit`] (an error, or a request cut short), it rolls back.
pub(crate) struct PgConn {
    /// Shared by the work that [`PgWrites::together`] runs at once.
    client: Arc<Object>,
    transaction: Transaction,
    /// Whether `execute` holds its statements back (see [`Conn::hold_writes`]).
    holding: bool,
    held: Vec<(Statement, Vec<Param>)>,
    /// Whether `COMMIT` goes out with the next statements (see [`Conn::commit_with_next`]).
    commit_next: bool,
    /// Whether a write was asked for, and whether a statement failed.
    wrote: bool,
    failed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transaction {
    /// `BEGIN` goes out with the next statement.
    ToBegin,
    /// Begun: `COMMIT` ends it, and dropping the connection rolls it back.
    Open,
    /// None (any more) of its own: each statement commits on its own, or
    /// with the others of [`PgWrites::together`].
    None,
}

impl PgConn {
    fn new(client: Arc<Object>, transaction: Transaction) -> PgConn {
        PgConn {
            client,
            transaction,
            holding: false,
            held: Vec::new(),
            commit_next: false,
            wrote: false,
            failed: false,
        }
    }

    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        self.send(Vec::new()).await.map_err(crate::db_error)?;
        if std::mem::replace(&mut self.transaction, Transaction::None) == Transaction::Open {
            self.client.batch_execute("COMMIT").await.map_err(crate::db_error)?;
        }
        Ok(())
    }

    /// The statement, prepared once per connection with the parameters'
    /// types (as sqlx's connections do: text, or 64-bit integers).
    async fn statement(&self, sql: &str, args: &[Param]) -> Result<Statement, DbError> {
        let types: Vec<Type> = args.iter().map(Param::type_).collect();
        // Statements built for many rows come in many lengths; the cache
        // keeps every one, so it starts over when it holds too many.
        if self.client.statement_cache.size() >= MOST_STATEMENTS {
            self.client.statement_cache.clear();
        }
        Ok(self.client.prepare_typed_cached(sql, &types).await?)
    }

    async fn fetch(&mut self, sql: &str, args: Vec<Param>) -> Result<Vec<tokio_postgres::Row>, DbError> {
        let statement = self.statement(sql, &args).await?;
        Ok(self.send(vec![(statement, args)]).await?.pop().unwrap_or_default())
    }

    /// Runs (or, while holding, holds back) a statement that returns no rows.
    async fn write(&mut self, sql: &str, args: Vec<Param>) -> Result<(), DbError> {
        self.wrote = true;
        let statement = self.statement(sql, &args).await?;
        if self.holding {
            self.held.push((statement, args));
            return Ok(());
        }
        self.send(vec![(statement, args)]).await.map(drop)
    }

    /// Sends the statements held back, then `queries`, all at once (after
    /// `BEGIN`, for the transaction's first), and waits for them: the rows
    /// of each query, or the first failure. tokio-postgres sends a request
    /// when its future is first polled, and `join!` and `join_all` first
    /// poll their futures in the order given, so the statements go out in
    /// order before any answer is awaited.
    async fn send(&mut self, queries: Vec<(Statement, Vec<Param>)>) -> Result<Vec<Vec<tokio_postgres::Row>>, DbError> {
        let mut statements = std::mem::take(&mut self.held);
        let held = statements.len();
        statements.extend(queries);
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<_> = statements.iter().map(|(_, args)| params(args)).collect();
        let PgConn { client, transaction, commit_next, .. } = self;
        let client: &tokio_postgres::Client = client;
        let begin = (*transaction == Transaction::ToBegin).then(|| client.batch_execute("BEGIN"));
        let sent = futures_util::future::join_all(
            statements.iter().zip(&params).map(|((statement, _), params)| client.query(statement, params)),
        );
        let commit =
            (std::mem::take(commit_next) && *transaction != Transaction::None).then(|| client.batch_execute("COMMIT"));
        let maybe = |call: Option<_>| async move {
            match call {
                Some(call) => call.await,
                None => Ok(()),
            }
        };
        let ends = (begin.is_some(), commit.is_some());
        let (begun, outcomes, committed) = tokio::join!(maybe(begin), sent, maybe(commit));
        *transaction = match ends {
            (_, true) => Transaction::None,
            (true, false) => Transaction::Open,
            (false, false) => *transaction,
        };
        let outcome = (|| {
            begun?;
            let mut rows = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
            committed?;
            Ok(rows.split_off(held))
        })();
        self.failed |= outcome.is_err();
        outcome
    }
}

/// A parameter as sent: one value, or an array (a column of the rows of
/// [`Conn::insert_rows`] and [`Conn::update_rows`], the keys of
/// [`Conn::fetch_among`]).
enum Param {
    One(Arg),
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<String>>),
}

impl Param {
    fn type_(&self) -> Type {
        match self {
            Param::One(Arg::Int(_)) => Type::INT8,
            Param::One(_) => Type::TEXT,
            Param::Ints(_) => Type::INT8_ARRAY,
            Param::Texts(_) => Type::TEXT_ARRAY,
        }
    }

    /// `rows` (of `width` values each) as one array per column, and their
    /// placeholders (`$1, $2, ...`).
    fn columns(rows: Vec<Vec<Arg>>, width: usize) -> (Vec<Param>, String) {
        let mut rows: Vec<_> = rows.into_iter().map(Vec::into_iter).collect();
        let columns = (0..width).map(|_| Param::column(&mut rows)).collect();
        (columns, (1..=width).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "))
    }

    /// The next value of every row, as an array: of integers if any of
    /// them is one (nulls bind as text, see [`Arg`]), else of text.
    fn column(rows: &mut [std::vec::IntoIter<Arg>]) -> Param {
        let values: Vec<Arg> = rows.iter_mut().map(|row| row.next().unwrap_or(Arg::Null)).collect();
        if values.iter().any(|v| matches!(v, Arg::Int(_))) {
            Param::Ints(values.into_iter().map(|v| if let Arg::Int(v) = v { Some(v) } else { None }).collect())
        } else {
            Param::Texts(values.into_iter().map(|v| if let Arg::Text(v) = v { Some(v) } else { None }).collect())
        }
    }
}

fn params(args: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    const NULL: Option<String> = None;
    args.iter()
        .map(|arg| match arg {
            Param::One(Arg::Null) => &NULL as &(dyn ToSql + Sync),
            Param::One(Arg::Int(v)) => v,
            Param::One(Arg::Text(v)) => v,
            Param::Ints(v) => v,
            Param::Texts(v) => v,
        })
        .collect()
}

fn one_each(args: Vec<Arg>) -> Vec<Param> {
    args.into_iter().map(Param::One).collect()
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if self.transaction == Transaction::Open {
            // tokio-postgres sends a request when its future is first
            // polled; the answer is not needed, and the connection's next
            // user queues behind the rollback.
            let rollback = std::pin::pin!(self.client.batch_execute("ROLLBACK"));
            let _ = rollback.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        }
    }
}

impl Conn for PgConn {
    type Row = tokio_postgres::Row;

    fn single_writer(&self) -> bool {
        false
    }

    async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<tokio_postgres::Row>, DbError> {
        self.fetch(sql, one_each(args)).await
    }

    /// With one array per column, as [`Conn::insert_rows`]: 100 identity
    /// updates of a bulk update in one statement.
    async fn update_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        kept_if_null: &[&str],
        rows: Vec<Vec<Arg>>,
    ) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        let (arrays, placeholders) = Param::columns(rows, columns.len());
        let set = crate::sql::assignments(table, columns, kept_if_null, |_, column| format!("v.{column}"));
        let (names, key) = (columns.join(", "), columns[0]);
        let sql =
            format!("UPDATE {table} SET {set} FROM unnest({placeholders}) AS v({names}) WHERE {table}.{key} = v.{key}");
        self.write(&sql, arrays).await
    }

    /// With one array: one statement for any number of keys, planned once
    /// per connection (100 pipelined point reads took PostgreSQL about
    /// 8 ms of a bulk update; one statement for them about 2).
    async fn fetch_among(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        keys: Vec<String>,
        then: &str,
    ) -> Result<Vec<tokio_postgres::Row>, DbError> {
        let keys_at = args.len() + 1;
        let mut params = one_each(args);
        params.push(Param::Texts(keys.into_iter().map(Some).collect()));
        self.fetch(&format!("{sql} = ANY(${keys_at}){then}"), params).await
    }

    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<(), DbError> {
        self.write(sql, one_each(args)).await
    }

    /// One array per column, unnested into rows: a `VALUES` list of
    /// hundreds of rows took PostgreSQL about 4 ms to plan on each insert,
    /// and as many placeholders to bind; this is planned once per
    /// connection, for any number of rows.
    async fn insert_rows(&mut self, insert: &str, rows: Vec<Vec<Arg>>, then: &str) -> Result<(), DbError> {
        let Some(width) = rows.first().map(Vec::len) else { return Ok(()) };
        if let [row] = &rows[..] {
            // One row (a custom settings PUT): a `VALUES` list of one is
            // planned once too, and skips the arrays and the function scan.
            let values = crate::Params::default().list(row.len());
            let args = rows.into_iter().flatten().collect();
            return self.write(&format!("{insert} VALUES ({values}) {then}"), one_each(args)).await;
        }
        let (columns, arrays) = Param::columns(rows, width);
        self.write(&format!("{insert} SELECT * FROM unnest({arrays}) {then}"), columns).await
    }

    /// With one array: planned once per connection for any number of
    /// values. (PostgreSQL plans the first few executions for their values,
    /// and at a few thousand users chose to read the whole table for 500
    /// emails, 4-5 ms, where the index takes about 1 ms.)
    async fn count_among(&mut self, sql: &str, values: Vec<String>) -> Result<i64, Error> {
        let rows = self.fetch_among(sql, Vec::new(), values, "").await.map_err(crate::db_error)?;
        crate::sql::count_in(rows.into_iter().next())
    }

    fn hold_writes(&mut self) {
        self.holding = true;
    }

    fn commit_with_next(&mut self) {
        self.commit_next = true;
    }

    async fn flush(&mut self) -> Result<(), DbError> {
        self.holding = false;
        self.send(Vec::new()).await.map(drop)
    }
}

impl Row for tokio_postgres::Row {
    fn int(&self, column: &str) -> Result<i64, Error> {
        let wrong = |e: tokio_postgres::Error| Error::Internal(format!("column {column}: {e}"));
        match self.columns().iter().find(|c| c.name() == column).map(|c| c.type_()) {
            Some(&Type::INT4) => self.try_get::<_, i32>(column).map(i64::from).map_err(wrong),
            Some(&Type::INT2) => self.try_get::<_, i16>(column).map(i64::from).map_err(wrong),
            _ => self.try_get::<_, i64>(column).map_err(wrong),
        }
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, Error> {
        self.try_get(column).map_err(|e| Error::Internal(format!("column {column}: {e}")))
    }
}

/// One member's work for [`PgWrites::together`], its outcome, and where the
/// outcome goes once committed.
struct Job<T, F> {
    member: (AccountId, UserId),
    work: F,
    outcome: Option<Result<T, Error>>,
    reply: oneshot::Sender<Result<T, Error>>,
}

/// [`Job`] of any outcome.
trait MemberJob: Send {
    fn member(&self) -> (AccountId, UserId);
    /// Runs the work in the transaction on `conn` and keeps its outcome:
    /// `false` when the transaction must not commit (a statement failed, or
    /// the work failed after it wrote).
    fn run(&mut self, conn: PgConn) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
    /// Answers the outcome, or the transaction's failure.
    fn reply(self: Box<Self>, committed: Result<(), Error>);
}

impl<T, F> MemberJob for Job<T, F>
where
    T: Send + 'static,
    F: for<'c> Fn(&'c mut PgConn) -> Work<'c, T> + Send + Sync + 'static,
{
    fn member(&self) -> (AccountId, UserId) {
        self.member
    }

    fn run(&mut self, mut conn: PgConn) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            let outcome = (self.work)(&mut conn).await;
            let fits = !conn.failed && (outcome.is_ok() || !conn.wrote);
            self.outcome = Some(outcome);
            fits
        })
    }

    fn reply(self: Box<Self>, committed: Result<(), Error>) {
        let answer = match self.outcome {
            Some(Err(e)) => Err(e),
            Some(Ok(value)) => committed.map(|()| value),
            None => Err(committed.err().unwrap_or_else(|| Error::Internal("a write did not run".into()))),
        };
        // The request may be gone.
        let _ = self.reply.send(answer);
    }
}

/// Takes the member writes as they come and starts a transaction of all
/// those waiting whenever a slot is free: while the slots are busy, the next
/// transaction's work piles up. A member's second write waits for the next
/// one, so that one transaction holds one write of each member.
async fn gather(pool: Pool, mut jobs: mpsc::UnboundedReceiver<Box<dyn MemberJob>>, slots: Arc<Semaphore>) {
    let mut waiting = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match jobs.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        while let Ok(job) = jobs.try_recv() {
            waiting.push_back(job);
        }
        let mut batch = Vec::new();
        let mut members = HashSet::new();
        let mut later = VecDeque::new();
        for job in waiting.drain(..) {
            if batch.len() < MOST_TOGETHER && members.insert(job.member()) {
                batch.push(job);
            } else {
                later.push_back(job);
            }
        }
        waiting = later;
        // Rows locked in one order by every transaction cannot deadlock.
        batch.sort_unstable_by_key(|job| job.member());
        tokio::spawn(commit_together(pool.clone(), batch, slot));
    }
}

/// Runs the jobs in one transaction and answers them. When it cannot
/// commit, each runs again alone, so that a failure is only its own.
async fn commit_together(pool: Pool, mut jobs: Vec<Box<dyn MemberJob>>, _slot: OwnedSemaphorePermit) {
    let committed = run_together(&pool, &mut jobs).await;
    if committed.is_err() && jobs.len() > 1 {
        for job in jobs {
            let mut alone = vec![job];
            let committed = run_together(&pool, &mut alone).await;
            alone.into_iter().for_each(|job| job.reply(committed.clone()));
        }
        return;
    }
    jobs.into_iter().for_each(|job| job.reply(committed.clone()));
}

/// `BEGIN`, the jobs' work at once (their statements interleaved on the
/// connection), then `COMMIT`, or `ROLLBACK` when a job says it must not
/// commit.
async fn run_together(pool: &Pool, jobs: &mut [Box<dyn MemberJob>]) -> Result<(), Error> {
    let client = Arc::new(connection(pool).await?);
    // `join!` polls in order: `BEGIN` goes out before the jobs' statements.
    let (begun, fits) = tokio::join!(
        client.batch_execute("BEGIN"),
        futures_util::future::join_all(
            jobs.iter_mut().map(|job| job.run(PgConn::new(client.clone(), Transaction::None)))
        )
    );
    if begun.is_ok() && fits.iter().all(|fits| *fits) {
        return client.batch_execute("COMMIT").await.map_err(crate::db_error);
    }
    // A broken connection fails this too, and the pool drops it.
    let _ = client.batch_execute("ROLLBACK").await;
    Err(begun.map_err(crate::db_error).err().unwrap_or_else(|| Error::Internal("a write failed".into())))
}

async fn connection(pool: &Pool) -> Result<Object, Error> {
    pool.get().await.map_err(|e| match e {
        PoolError::Backend(e) => crate::db_error(e),
        PoolError::Timeout(_) | PoolError::Closed => Error::Unavailable,
        other => Error::Internal(other.to_string()),
    })
}
