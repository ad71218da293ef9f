//! What the store's shared write logic needs of a connection, so that the
//! logic is written once and runs on three kinds: the SQLite writer
//! thread's own connection (see [`crate::writer`]), where a statement is a
//! function call instead of a hand-off to another thread and back;
//! tokio-postgres connections ([`crate::pg`]), which send a transaction's
//! statements with fewer round trips; and sqlx's `Any` connections (SQLite
//! without a file, and PostgreSQL's batches of groups).

use std::future::Future;
use std::sync::Arc;

use roster_domain::Error;
use rusqlite::types::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

/// One bound parameter. Nulls are bound as text, as the columns that take
/// them are.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_owned())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(v)
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(v.clone())
    }
}

impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Arg {
        v.map_or(Arg::Null, Into::into)
    }
}

/// `args![a, b, c]`: parameters `$1`, `$2`, `$3` of a statement.
macro_rules! args {
    ($($arg:expr),* $(,)?) => { vec![$($crate::sql::Arg::from($arg)),*] };
}
pub(crate) use args;

/// Runs `$body`, an expression over `$conn: &mut impl Conn`, as one write
/// transaction, undone when it fails: on the SQLite writer thread when the
/// store has one (inside that batch's transaction), on a tokio-postgres
/// connection on PostgreSQL ([`crate::pg`]), else in a sqlx transaction.
/// (A macro, because a closure cannot be generic over `Conn`.) The last two
/// are boxed: their futures run to kilobytes, and unboxed they would make
/// every request's future that large (on the writer too), to be copied and
/// allocated as it is boxed layer by layer.
macro_rules! write_transaction {
    ($store:expr, |$conn:ident| $body:expr) => {
        $crate::sql::write_transaction!($store, $crate::writer::Undo::Savepoint, |$conn| $body)
    };
    // `$undo`: how the SQLite writer undoes the work when it fails.
    ($store:expr, $undo:expr, |$conn:ident| $body:expr) => {
        match (&$store.writer, &$store.pg) {
            (Some(writer), _) => writer.run($undo, move |$conn| $crate::sql::now_or_never($body)).await,
            (None, Some(pg)) => {
                Box::pin(async move {
                    let mut tx = pg.begin().await?;
                    let $conn = &mut tx;
                    let value = $body.await?;
                    tx.commit().await?;
                    Ok::<_, roster_domain::Error>(value)
                })
                .await
            }
            (None, None) => {
                Box::pin(async move {
                    let mut tx = $store.write.begin().await.map_err($crate::db_error)?;
                    let $conn: &mut sqlx::AnyConnection = &mut tx;
                    let value = $body.await?;
                    tx.commit().await.map_err($crate::db_error)?;
                    Ok::<_, roster_domain::Error>(value)
                })
                .await
            }
        }
    };
}
pub(crate) use write_transaction;

/// The outcome of work done with writes held back (see
/// [`Conn::hold_writes`]), once the held statements are sent: their
/// failure is the work's.
pub(crate) async fn flushed<T>(conn: &mut impl Conn, outcome: Result<T, Error>) -> Result<T, Error> {
    let sent = conn.flush().await;
    outcome.and_then(|value| sent.map(|()| value).map_err(crate::db_error))
}

/// A driver error, whichever driver raised it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
}

impl DbError {
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlx(e) => crate::is_unique_violation(e),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Postgres(e) => e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }
}

/// A result row, read by column name.
pub(crate) trait Row {
    fn int(&self, column: &str) -> Result<i64, Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, Error>;
    fn text(&self, column: &str) -> Result<String, Error> {
        self.opt_text(column)?.ok_or_else(|| Error::Internal(format!("column {column} is null")))
    }
}

/// A connection inside a write transaction.
pub(crate) trait Conn: Send {
    type Row: Row + Send;

    /// Whether this connection writes alone (SQLite), so that rows need no
    /// locks against concurrent writers.
    fn single_writer(&self) -> bool;

    fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> impl Future<Output = Result<Vec<Self::Row>, DbError>> + Send;

    fn execute(&mut self, sql: &str, args: Vec<Arg>) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Inserts `rows` (each a value for every column of `insert`, an
    /// `INSERT INTO table (columns)`) with one statement, followed by
    /// `then` (an `ON CONFLICT` clause, or nothing). Here a `VALUES` list of
    /// a placeholder per value; PostgreSQL's overrides it.
    fn insert_rows(
        &mut self,
        insert: &str,
        rows: Vec<Vec<Arg>>,
        then: &str,
    ) -> impl Future<Output = Result<(), DbError>> + Send {
        let mut p = crate::Params::default();
        let values: Vec<String> = rows.iter().map(|row| format!("({})", p.list(row.len()))).collect();
        let sql = format!("{insert} VALUES {} {then}", values.join(", "));
        async move {
            if rows.is_empty() {
                return Ok(());
            }
            self.execute(&sql, rows.into_iter().flatten().collect()).await
        }
    }

    /// Updates rows of `table`: each of `rows` gives a value for each of
    /// `columns`, the first the key that finds the row, the others the
    /// values to set, but where a column of `kept_if_null` has a null, which
    /// keeps the row's value. Here one statement per row; PostgreSQL's
    /// overrides it with one for all.
    fn update_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        kept_if_null: &[&str],
        rows: Vec<Vec<Arg>>,
    ) -> impl Future<Output = Result<(), DbError>> + Send {
        let set = assignments(table, columns, kept_if_null, |n, _| format!("${n}"));
        let sql = format!("UPDATE {table} SET {set} WHERE {} = $1", columns[0]);
        async move {
            for row in rows {
                self.execute(&sql, row).await?;
            }
            Ok(())
        }
    }

    /// The rows of `sql`, a query whose last words are a column (`... AND
    /// m.user_id`), where that column is one of `keys`, followed by `then`
    /// (an `ORDER BY`, a locking clause): here one point read per key, in
    /// the order given (a plan that cannot go wrong, and in-process reads
    /// cost little); PostgreSQL's overrides it with one statement.
    fn fetch_among(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        keys: Vec<String>,
        then: &str,
    ) -> impl Future<Output = Result<Vec<Self::Row>, DbError>> + Send {
        let sql = format!("{sql} = ${}{then}", args.len() + 1);
        async move {
            let mut rows = Vec::with_capacity(keys.len());
            for key in keys {
                let mut args = args.clone();
                args.push(Arg::Text(key));
                rows.extend(self.fetch_all(&sql, args).await?);
            }
            Ok(rows)
        }
    }

    /// From now until [`Conn::flush`], the connection may hold `execute`d
    /// statements back and send them together with the next statement that
    /// needs an answer, or at the flush: their failures are reported there,
    /// not by `execute`. For work that is undone whole when anything fails
    /// (and redone carefully, or reported as failed) and so need not know
    /// which statement failed. (Where a statement is not a round trip,
    /// nothing is held.)
    fn hold_writes(&mut self) {}

    /// Sends what is held (see [`Conn::hold_writes`]), reports the first
    /// failure, and holds nothing back from then on.
    fn flush(&mut self) -> impl Future<Output = Result<(), DbError>> + Send {
        std::future::ready(Ok(()))
    }

    /// Says that the statements sent next (with what is held) are the
    /// transaction's last: where a statement is a round trip, `COMMIT` goes
    /// out with them instead of after them (when one fails, PostgreSQL's
    /// `COMMIT` rolls back). Nothing after them may fail but reading their
    /// rows.
    fn commit_with_next(&mut self) {}

    fn fetch_optional(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> impl Future<Output = Result<Option<Self::Row>, DbError>> + Send {
        async move { Ok(self.fetch_all(sql, args).await?.into_iter().next()) }
    }

    /// The count `sql` (a `SELECT COUNT(*) AS n ... WHERE column`) returns
    /// with the column among `values`: `IN` a placeholder per value here;
    /// PostgreSQL's overrides it.
    fn count_among(&mut self, sql: &str, values: Vec<String>) -> impl Future<Output = Result<i64, Error>> + Send {
        let sql = format!("{sql} IN ({})", crate::Params::default().list(values.len()));
        async move { self.fetch_count(&sql, values.into_iter().map(Arg::Text).collect()).await }
    }

    /// The integer column `n` of the one row `sql` returns.
    fn fetch_count(&mut self, sql: &str, args: Vec<Arg>) -> impl Future<Output = Result<i64, Error>> + Send {
        async move { count_in(self.fetch_optional(sql, args).await.map_err(crate::db_error)?) }
    }
}

/// The `SET` list of [`Conn::update_rows`]: each column but the key (the
/// first) set to its value, named by `value` from its position (from 1)
/// and name.
pub(crate) fn assignments(
    table: &str,
    columns: &[&str],
    kept_if_null: &[&str],
    value: impl Fn(usize, &str) -> String,
) -> String {
    let set = columns.iter().enumerate().skip(1).map(|(at, column)| {
        let value = value(at + 1, column);
        match kept_if_null.contains(column) {
            true => format!("{column} = COALESCE({value}, {table}.{column})"),
            false => format!("{column} = {value}"),
        }
    });
    set.collect::<Vec<_>>().join(", ")
}

/// The integer column `n` of a count's one row.
pub(crate) fn count_in(row: Option<impl Row>) -> Result<i64, Error> {
    row.ok_or_else(|| Error::Internal("a count returned no row".into()))?.int("n")
}

impl Row for AnyRow {
    fn int(&self, column: &str) -> Result<i64, Error> {
        self.try_get(column).map_err(crate::db_error)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, Error> {
        self.try_get(column).map_err(crate::db_error)
    }
}

fn sqlx_query(sql: &str, args: Vec<Arg>) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    args.into_iter().fold(sqlx::query(sql), |q, arg| match arg {
        Arg::Null => q.bind(None::<String>),
        Arg::Int(v) => q.bind(v),
        Arg::Text(v) => q.bind(v),
    })
}

impl Conn for AnyConnection {
    type Row = AnyRow;

    fn single_writer(&self) -> bool {
        self.backend_name() == "SQLite"
    }

    async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<AnyRow>, DbError> {
        Ok(sqlx_query(sql, args).fetch_all(self).await?)
    }

    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<(), DbError> {
        Ok(sqlx_query(sql, args).execute(self).await.map(drop)?)
    }
}

/// The writer thread's connection. Its futures are ready at once: the
/// writer polls them once ([`now_or_never`]).
pub(crate) struct SqliteConn<'a>(pub(crate) &'a mut rusqlite::Connection);

pub(crate) struct SqliteRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl SqliteRow {
    fn value(&self, column: &str) -> Result<&Value, Error> {
        let i = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| Error::Internal(format!("no column {column} in the result")))?;
        Ok(&self.values[i])
    }
}

impl Row for SqliteRow {
    fn int(&self, column: &str) -> Result<i64, Error> {
        match self.value(column)? {
            Value::Integer(v) => Ok(*v),
            other => Err(Error::Internal(format!("column {column} is {other:?}, not an integer"))),
        }
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, Error> {
        match self.value(column)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(Error::Internal(format!("column {column} is {other:?}, not text"))),
        }
    }
}

impl SqliteConn<'_> {
    /// A cached statement with its parameters bound. The portable `$N`
    /// become SQLite's `?N`, which bind by position (`$N` would be looked up
    /// by name, at a cost that grows with the statement's parameters).
    fn bound(&self, sql: &str, args: Vec<Arg>) -> rusqlite::Result<rusqlite::CachedStatement<'_>> {
        let mut stmt = self.0.prepare_cached(&sql.replace('$', "?"))?;
        for (i, arg) in args.into_iter().enumerate() {
            match arg {
                Arg::Null => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)?,
                Arg::Int(v) => stmt.raw_bind_parameter(i + 1, v)?,
                Arg::Text(v) => stmt.raw_bind_parameter(i + 1, v)?,
            }
        }
        Ok(stmt)
    }

    fn rows(&self, sql: &str, args: Vec<Arg>) -> rusqlite::Result<Vec<SqliteRow>> {
        let mut stmt = self.bound(sql, args)?;
        let columns: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..columns.len()).map(|i| row.get::<_, Value>(i)).collect::<Result<_, _>>()?;
            out.push(SqliteRow { columns: columns.clone(), values });
        }
        Ok(out)
    }
}

impl Conn for SqliteConn<'_> {
    type Row = SqliteRow;

    fn single_writer(&self) -> bool {
        true
    }

    fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> impl Future<Output = Result<Vec<SqliteRow>, DbError>> + Send {
        std::future::ready(self.rows(sql, args).map_err(DbError::from))
    }

    fn execute(&mut self, sql: &str, args: Vec<Arg>) -> impl Future<Output = Result<(), DbError>> + Send {
        std::future::ready(
            self.bound(sql, args).and_then(|mut stmt| stmt.raw_execute()).map(drop).map_err(DbError::from),
        )
    }
}

/// The outcome of a future that never waits (one over [`SqliteConn`]).
pub(crate) fn now_or_never<T>(future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(outcome) => outcome,
        std::task::Poll::Pending => Err(Error::Internal("a SQLite writer job waited on something".into())),
    }
}
