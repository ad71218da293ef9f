//! The SQLite writer: one thread with its own connection that runs the hot
//! writes (user updates, bulk creates, custom settings) of all concurrent
//! requests, committing together what arrived together.
//!
//! Through sqlx every statement is a hand-off to sqlx's connection thread
//! and back; a settings update took about seven, and the hand-offs, not
//! SQLite, bounded how many writes per second one writer could do. Here a
//! job is a plain function call on the thread that owns the connection. The
//! thread takes every job queued, runs each so that a failing job is rolled
//! back alone ([`Undo`]), commits once, then answers them all.
//!
//! The other writes still go through sqlx's single write connection
//! ([`SqlxWrites`]). It and the writer take turns on one mutex, held by the
//! writer for the length of each batch, so there is still one writer at a
//! time and neither waits on SQLite's busy handler. (The turn was once the
//! pool's one connection; giving it back spawns a task, and the writer
//! waited for a busy runtime to run it: about 0.3 ms per batch.)
//!
//! Durability (`synchronous = full`) is a pipeline: the writer's own
//! connection commits at `NORMAL` (its frames reach the WAL file, not yet
//! the disk) and hands the batch's answers to a flusher thread, which
//! `fdatasync`s the WAL once for every batch committed since its last flush
//! and only then answers them. The writer goes on with the next batch while
//! the disk works, and a request is acknowledged only once it is on disk.
//! (Another request may read a write in the fraction of a millisecond
//! between its commit and its flush; its writer has not been answered yet.)

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use roster_domain::Error;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot, OwnedMutexGuard};

use crate::sql::SqliteConn;

/// Most jobs committed together (bounds how long one batch holds the lock).
const MOST_JOBS: usize = 256;

/// Runs a job inside its savepoint; what it returns answers the request
/// once the batch's commit is known.
type Job = Box<dyn FnOnce(&mut rusqlite::Connection) -> Answer + Send>;
type Answer = Box<dyn FnOnce(Result<(), Error>) + Send>;

/// The queue's messages: a job, or `None` to stop once the queue before it is done.
type Message = Option<Job>;

pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Message>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Writer {
    /// Opens the writer's connection to `file` with `pragmas` and starts its
    /// thread; `turn` is the mutex it holds while it writes. With `flush`, a
    /// batch is answered only once the WAL is on disk (see above).
    pub(crate) fn start(file: &Path, pragmas: &[&str], flush: bool, turn: Turn) -> Result<Writer, rusqlite::Error> {
        let mut conn = rusqlite::Connection::open(file)?;
        for pragma in pragmas {
            conn.execute_batch(pragma)?;
        }
        if flush {
            conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        }
        let flusher = flush.then(|| Flusher::start(file));
        // A larger page cache (32 MiB, allocated as used): a bulk write
        // dirties many pages, and spilling them mid-transaction costs writes;
        // and an update touches about five b-tree pages of its member, which
        // must stay cached: at 16 MiB, updates cycling over 1,000 members of
        // a 1,000,000-member account missed almost all of them.
        conn.execute_batch("PRAGMA cache_size = -32768;")?;
        // Each job's savepoint keeps the pages it changes in a statement
        // journal. With temporary files on disk (the default), that journal
        // starts as a 64 KiB allocation per job, which glibc serves slowly
        // (malloc and free took about 40 % of this thread's time, 12 % with
        // this); in memory it grows by small chunks. It never outlives its job.
        conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, mut queue) = mpsc::unbounded_channel::<Message>();
        let thread = std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || {
                let mut stopping = false;
                while let Some(Some(first)) = queue.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < MOST_JOBS {
                        match queue.try_recv() {
                            Ok(Some(job)) => batch.push(job),
                            Ok(None) => stopping = true,
                            Err(_) => break,
                        }
                        if stopping {
                            break;
                        }
                    }
                    let held = turn.blocking_lock();
                    let (answers, commit) = run_batch(&mut conn, batch);
                    drop(held);
                    match (&flusher, commit) {
                        (Some(flusher), Ok(())) => flusher.flush_then_answer(answers),
                        (_, commit) => answer_all(answers, commit),
                    }
                    if stopping {
                        break;
                    }
                }
            })
            .expect("the writer thread starts");
        Ok(Writer { jobs, thread: Mutex::new(Some(thread)) })
    }

    /// Runs `job` in the next batch's transaction; its error rolls back its
    /// own changes only (as `undo` says). Answers once the batch is committed.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        undo: Undo,
        job: impl FnOnce(&mut SqliteConn) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (answer, answered) = oneshot::channel();
        let job = queued(undo, job, move |outcome| {
            let _ = answer.send(outcome);
        });
        self.jobs.send(Some(job)).map_err(|_| Error::Unavailable)?;
        answered.await.map_err(|_| Error::Unavailable)?
    }

    /// Finishes the queued jobs and stops the thread.
    pub(crate) async fn close(&self) {
        let _ = self.jobs.send(None);
        let thread = self.thread.lock().expect("writer thread lock").take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// `work` as a job of the writer's queue: run as `undo` says, and its
/// outcome given to `answer` once the batch's commit is known.
fn queued<T: Send + 'static>(
    undo: Undo,
    work: impl FnOnce(&mut SqliteConn) -> Result<T, Error> + Send + 'static,
    answer: impl FnOnce(Result<T, Error>) + Send + 'static,
) -> Job {
    Box::new(move |conn| {
        let outcome = undo.run(conn, work);
        Box::new(move |commit: Result<(), Error>| answer(commit.and(outcome)))
    })
}

/// How the writer undoes a failed job's changes, leaving the other jobs of
/// its batch.
#[derive(Clone, Copy)]
pub(crate) enum Undo {
    /// Rolls back to a savepoint taken before the job.
    Savepoint,
    /// Nothing to do: the job writes with one statement, its last, and SQLite
    /// undoes a statement that fails. It saves the savepoint's two
    /// statements and the copies of the pages the job changes (13 % of the
    /// writer's instructions per settings update, counted with callgrind).
    LastStatement,
}

impl Undo {
    /// Runs `job` inside the batch's transaction, so that its failure
    /// undoes its own changes only.
    fn run<T>(
        self,
        conn: &mut rusqlite::Connection,
        job: impl FnOnce(&mut SqliteConn) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match self {
            Undo::Savepoint => in_savepoint(conn, job),
            Undo::LastStatement => caught(conn, job),
        }
    }
}

/// The one turn to write a SQLite database, shared by the writer thread and
/// [`SqlxWrites`].
pub(crate) type Turn = Arc<tokio::sync::Mutex<()>>;

/// The writes that go through sqlx's write pool. On SQLite each use holds
/// the [`Turn`]; on PostgreSQL (`turn` is `None`) they run side by side.
pub(crate) struct SqlxWrites {
    pool: AnyPool,
    turn: Option<Turn>,
}

/// A connection or transaction of [`SqlxWrites`], holding the turn until it
/// is dropped (after it: fields drop in order). A transaction dropped
/// unfinished is rolled back by sqlx's thread just after, so on that error
/// path only the writer may wait on SQLite's busy handler.
pub(crate) struct Writing<C> {
    conn: C,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl SqlxWrites {
    pub(crate) fn new(pool: AnyPool, turn: Option<Turn>) -> SqlxWrites {
        SqlxWrites { pool, turn }
    }

    pub(crate) async fn acquire(&self) -> Result<Writing<PoolConnection<Any>>, sqlx::Error> {
        // Waiting for the turn is waiting for a connection: as long, then 503.
        let turn = match &self.turn {
            Some(turn) => Some(
                tokio::time::timeout(self.pool.options().get_acquire_timeout(), turn.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?,
            ),
            None => None,
        };
        Ok(Writing { conn: self.pool.acquire().await?, _turn: turn })
    }

    pub(crate) async fn begin(&self) -> Result<Writing<Transaction<'static, Any>>, sqlx::Error> {
        let Writing { conn, _turn } = self.acquire().await?;
        Ok(Writing { conn: Transaction::begin(conn, None).await?, _turn })
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

impl Writing<Transaction<'static, Any>> {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.conn.commit().await
    }
}

impl<C: Deref<Target = AnyConnection>> Deref for Writing<C> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl<C: DerefMut<Target = AnyConnection>> DerefMut for Writing<C> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

fn answer_all(answers: Vec<Answer>, outcome: Result<(), Error>) {
    for answer in answers {
        answer(outcome.clone());
    }
}

/// The thread that makes committed batches durable before answering them.
/// Dropped (by the writer thread, as it stops), it answers what is queued
/// and stops.
struct Flusher {
    batches: Option<std::sync::mpsc::Sender<Vec<Answer>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    fn start(db: &Path) -> Flusher {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let (batches, queue) = std::sync::mpsc::channel::<Vec<Answer>>();
        let thread = std::thread::Builder::new()
            .name("roster-sqlite-flush".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    // Every batch queued by now was committed before this flush.
                    let mut answers = first;
                    while let Ok(more) = queue.try_recv() {
                        answers.extend(more);
                    }
                    let outcome = flush(&wal).map_err(|e| {
                        tracing::error!(error = %e, "cannot flush the SQLite WAL");
                        Error::Internal(format!("cannot flush the WAL: {e}"))
                    });
                    answer_all(answers, outcome);
                }
            })
            .expect("the flusher thread starts");
        Flusher { batches: Some(batches), thread: Some(thread) }
    }

    fn flush_then_answer(&self, answers: Vec<Answer>) {
        // The thread lives as long as this sender; a send cannot fail.
        if let Some(batches) = &self.batches {
            let _ = batches.send(answers);
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once the queue is empty.
        drop(self.batches.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Flushes the WAL file. It is opened afresh each time: SQLite may delete
/// and recreate it, and `fdatasync` flushes the file, whichever descriptor
/// asks. No WAL means every commit was checkpointed into the database file,
/// which SQLite syncs itself at checkpoints (at `NORMAL` too).
fn flush(wal: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs a batch in one transaction: the jobs' answers, and the commit's
/// outcome to give them.
fn run_batch(conn: &mut rusqlite::Connection, batch: Vec<Job>) -> (Vec<Answer>, Result<(), Error>) {
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, jobs = batch.len(), "the SQLite writer cannot begin a transaction");
        return (Vec::new(), Err(crate::db_error(e)));
    }
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        answers.push(job(conn));
        if conn.is_autocommit() {
            // SQLite ended the transaction itself (it may, on an I/O error or
            // a full disk): every job run in it is undone, and is answered so.
            // The rest go on in a new one.
            tracing::error!(jobs = answers.len(), "SQLite rolled back the writer's transaction");
            answer_all(std::mem::take(&mut answers), Err(Error::Internal("the write was rolled back".into())));
            if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
                // The jobs not run are dropped: their requests fail as unavailable.
                tracing::error!(error = %e, "the SQLite writer cannot begin a transaction");
                return (Vec::new(), Err(crate::db_error(e)));
            }
        }
    }
    let commit = run(conn, "COMMIT").map_err(|e| {
        let _ = run(conn, "ROLLBACK");
        crate::db_error(e)
    });
    (answers, commit)
}

fn in_savepoint<T>(
    conn: &mut rusqlite::Connection,
    job: impl FnOnce(&mut SqliteConn) -> Result<T, Error>,
) -> Result<T, Error> {
    run(conn, "SAVEPOINT job").map_err(crate::db_error)?;
    let outcome = caught(conn, job);
    if outcome.is_err() {
        run(conn, "ROLLBACK TO job").map_err(crate::db_error)?;
    }
    run(conn, "RELEASE job").map_err(crate::db_error)?;
    outcome
}

/// Runs `job`; a bug that panics fails its own request, not the thread
/// every write needs.
fn caught<T>(
    conn: &mut rusqlite::Connection,
    job: impl FnOnce(&mut SqliteConn) -> Result<T, Error>,
) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut SqliteConn(conn))))
        .unwrap_or_else(|_| Err(Error::Internal("a write panicked".into())))
}

/// Runs a statement without parameters, prepared once.
fn run(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each job's id and what it was answered.
    type Outcomes = Arc<Mutex<Vec<(u8, Result<(), Error>)>>>;

    /// A job as [`Writer::run`] queues it, whose outcome lands in `outcomes`.
    fn job(
        undo: Undo,
        outcomes: &Outcomes,
        id: u8,
        work: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Job {
        let outcomes = outcomes.clone();
        queued(
            undo,
            move |c| work(c.0).map_err(crate::db_error),
            move |outcome| outcomes.lock().unwrap().push((id, outcome)),
        )
    }

    fn insert(v: i64) -> impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<()> + Send {
        move |c| c.execute("INSERT INTO t VALUES (?1)", [v]).map(drop)
    }

    /// Runs the batch `jobs` makes on a fresh table `t`: the ids of the jobs
    /// answered as done, and the rows the table holds after.
    fn run_jobs(jobs: impl FnOnce(&Outcomes) -> Vec<Job>) -> (Vec<u8>, Vec<i64>) {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)").unwrap();
        let outcomes = Outcomes::default();
        let (answers, commit) = run_batch(&mut conn, jobs(&outcomes));
        answer_all(answers, commit);
        let mut done: Vec<u8> = outcomes.lock().unwrap().iter().filter(|(_, o)| o.is_ok()).map(|(id, _)| *id).collect();
        done.sort_unstable();
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        (done, rows)
    }

    #[test]
    fn a_failed_job_is_undone_alone_and_its_batch_commits() {
        let (done, rows) = run_jobs(|outcomes| {
            vec![
                job(Undo::LastStatement, outcomes, 1, insert(1)),
                // Writes, then fails: its savepoint undoes its first insert.
                job(Undo::Savepoint, outcomes, 2, |c| {
                    insert(2)(c)?;
                    insert(1)(c)
                }),
                // Its one statement fails; SQLite undoes it.
                job(Undo::LastStatement, outcomes, 3, |c| c.execute("INSERT INTO t VALUES (3), (1)", []).map(drop)),
                job(Undo::Savepoint, outcomes, 4, insert(4)),
            ]
        });
        assert_eq!(done, [1, 4]);
        assert_eq!(rows, [1, 4]);
    }

    #[test]
    fn jobs_of_a_transaction_sqlite_rolled_back_are_answered_as_failed() {
        let (done, rows) = run_jobs(|outcomes| {
            vec![
                job(Undo::LastStatement, outcomes, 1, insert(1)),
                // Stands for SQLite ending the transaction on an I/O error.
                job(Undo::LastStatement, outcomes, 2, |c| c.execute_batch("ROLLBACK")),
                job(Undo::Savepoint, outcomes, 3, insert(3)),
                job(Undo::LastStatement, outcomes, 4, insert(4)),
            ]
        });
        assert_eq!(done, [3, 4]);
        assert_eq!(rows, [3, 4]);
    }
}
