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
//! those of a kind that arrive together run together, in one transaction
//! on one connection, as one statement that reads and locks all their rows
//! and one that writes them ([`Together`]). PostgreSQL's cost is per
//! statement and per round trip more than per row: pgbench on the seeded
//! table made 10,500 settings updates a second one transaction each, and
//! 43,000 eight to a pipelined transaction.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use roster_domain::custom_settings::CustomSetting;
use roster_domain::settings::SettingsPatch;
use roster_domain::Error;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Statement};

use crate::custom::{change_custom, GroupChange};
use crate::members::{only, set_settings, MemberChange, SettingsOf};
use crate::sql::{Arg, Conn, DbError, Row};
use crate::StoreError;

/// Most prepared statements kept per connection.
const MOST_STATEMENTS: usize = 256;

/// Most member writes in one transaction of [`Together`].
const MOST_TOGETHER: usize = 128;

/// How a transaction of [`Together`] begins. Its statements take arrays of
/// any length and are prepared once per connection to be planned once; left
/// to choose, PostgreSQL planned them again on every execution (a plan for
/// the values given looks cheaper than one for an array of unknown length):
/// 7 % of the machine's time under settings PUTs. (Not for every statement:
/// a plan made once while a table was nearly empty, say, stays until the
/// table's statistics change, and the 500 emails of a bulk create were read
/// by a scan of the whole table, 200 ms, in the benchmark right after seeding.)
const BEGIN_TOGETHER: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

pub(crate) struct PgWrites {
    pool: Pool,
    /// Settings changes (`PUT .../users/{userId}/settings`), run together.
    pub(crate) settings: Together<SettingsPatch, SettingsOf>,
    /// Custom settings changes, run together.
    pub(crate) custom: Together<GroupChange, Vec<CustomSetting>>,
}

/// The work of a [`Together`] kind on a batch of jobs, in one transaction:
/// the outcome of each job (one that fails writes nothing), or the failure
/// of a statement, which fails them all.
pub(crate) type Work<'c, T> = Pin<Box<dyn Future<Output = Result<Vec<Result<T, Error>>, Error>> + Send + 'c>>;

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
        // Half the connections at most, so that the other writes find some.
        let slots = Arc::new(Semaphore::new((max_connections as usize / 2).max(1)));
        Ok(PgWrites {
            settings: Together::start(pool.clone(), slots.clone(), |conn, jobs| Box::pin(set_settings(conn, jobs))),
            custom: Together::start(pool.clone(), slots, |conn, jobs| Box::pin(change_custom(conn, jobs))),
            pool,
        })
    }

    /// A connection for one transaction, begun with its first statement.
    pub(crate) async fn begin(&self) -> Result<PgConn, Error> {
        Ok(PgConn::new(connection(&self.pool).await?, "BEGIN"))
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
    client: Object,
    /// What begins the transaction (see [`PgConn::new`]).
    begin: &'static str,
    transaction: Transaction,
    /// Whether `execute` holds its statements back (see [`Conn::hold_writes`]).
    holding: bool,
    held: Vec<(Statement, Vec<Param>)>,
    /// Whether `COMMIT` goes out with the next statements (see [`Conn::commit_with_next`]).
    commit_next: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transaction {
    /// `BEGIN` (its `begin`) goes out with the next statement.
    ToBegin,
    /// Begun: `COMMIT` ends it, and dropping the connection rolls it back.
    Open,
    /// None any more: each statement commits on its own.
    None,
}

impl PgConn {
    /// A connection whose transaction `begin` begins, with its first statement.
    fn new(client: Object, begin: &'static str) -> PgConn {
        PgConn {
            client,
            begin,
            transaction: Transaction::ToBegin,
            holding: false,
            held: Vec::new(),
            commit_next: false,
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
        let PgConn { client, begin, transaction, commit_next, .. } = self;
        let client: &tokio_postgres::Client = client;
        let begin = (*transaction == Transaction::ToBegin).then(|| client.batch_execute(begin));
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
        begun?;
        let mut rows = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
        committed?;
        Ok(rows.split_off(held))
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

/// A kind of member change (of `C`, answered with a `T`) that runs in batches:
/// each job as it comes goes to [`gather`], which starts a transaction of
/// all those waiting whenever a slot is free (while the slots are busy, the
/// next batch piles up). A batch holds one job of each member (a member's
/// second waits for the next), so that its work may read every member's
/// rows once, before it writes any.
pub(crate) struct Together<C, T> {
    asked: mpsc::UnboundedSender<Asked<C, T>>,
}

/// A job of a member and where its outcome goes once committed.
struct Asked<C, T> {
    job: MemberChange<C>,
    reply: oneshot::Sender<Result<T, Error>>,
}

impl<C: Send + Sync + 'static, T: Send + 'static> Together<C, T> {
    fn start<F>(pool: Pool, slots: Arc<Semaphore>, work: F) -> Together<C, T>
    where
        F: for<'c> Fn(&'c mut PgConn, &'c [MemberChange<C>]) -> Work<'c, T> + Send + Sync + 'static,
    {
        let (asked, jobs) = mpsc::unbounded_channel();
        tokio::spawn(gather(pool, jobs, slots, Arc::new(work)));
        Together { asked }
    }

    /// Runs `job` with the others that come meanwhile, and answers its
    /// outcome once their transaction commits.
    pub(crate) async fn run(&self, job: MemberChange<C>) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.asked.send(Asked { job, reply }).map_err(|_| Error::Unavailable)?;
        answer.await.map_err(|_| Error::Unavailable)?
    }
}

async fn gather<C, T, F>(
    pool: Pool,
    mut jobs: mpsc::UnboundedReceiver<Asked<C, T>>,
    slots: Arc<Semaphore>,
    work: Arc<F>,
) where
    C: Send + Sync + 'static,
    T: Send + 'static,
    F: for<'c> Fn(&'c mut PgConn, &'c [MemberChange<C>]) -> Work<'c, T> + Send + Sync + 'static,
{
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
        for asked in waiting.drain(..) {
            if batch.len() < MOST_TOGETHER && members.insert(asked.job.member()) {
                batch.push(asked);
            } else {
                later.push_back(asked);
            }
        }
        waiting = later;
        // By account, so that the work locks one account's members after
        // another's in one order (and each account's in one order, see
        // `LOCK_MEMBERS`): two transactions cannot deadlock.
        batch.sort_unstable_by_key(|asked| asked.job.member());
        let (pool, work) = (pool.clone(), work.clone());
        tokio::spawn(async move {
            commit_together(&pool, batch, &*work).await;
            drop(slot);
        });
    }
}

/// Runs the jobs in one transaction and answers them. When it cannot
/// commit, each runs again alone, so that a failure is only its own.
async fn commit_together<C, T, F>(pool: &Pool, batch: Vec<Asked<C, T>>, work: &F)
where
    F: for<'c> Fn(&'c mut PgConn, &'c [MemberChange<C>]) -> Work<'c, T>,
{
    let (jobs, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|asked| (asked.job, asked.reply)).unzip();
    let outcomes = match run_together(pool, &jobs, work).await {
        Err(_) if jobs.len() > 1 => {
            let mut outcomes = Vec::with_capacity(jobs.len());
            for job in &jobs {
                let alone = run_together(pool, std::slice::from_ref(job), work).await;
                outcomes.push(only(alone));
            }
            outcomes
        }
        Err(e) => vec![Err(e)],
        Ok(outcomes) => outcomes,
    };
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        // The request may be gone.
        let _ = reply.send(outcome);
    }
}

/// The jobs' work in a transaction, committed (`BEGIN` goes out with its
/// first statement, and `COMMIT` with its writes where the work says so).
async fn run_together<C, T, F>(pool: &Pool, jobs: &[MemberChange<C>], work: &F) -> Result<Vec<Result<T, Error>>, Error>
where
    F: for<'c> Fn(&'c mut PgConn, &'c [MemberChange<C>]) -> Work<'c, T>,
{
    let mut conn = PgConn::new(connection(pool).await?, BEGIN_TOGETHER);
    let outcomes = work(&mut conn, jobs).await?;
    conn.commit().await?;
    Ok(outcomes)
}

async fn connection(pool: &Pool) -> Result<Object, Error> {
    pool.get().await.map_err(|e| match e {
        PoolError::Backend(e) => crate::db_error(e),
        PoolError::Timeout(_) | PoolError::Closed => Error::Unavailable,
        other => Error::Internal(other.to_string()),
    })
}
