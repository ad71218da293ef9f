//! API call counters shared by every node.

use roster_domain::Error;

use crate::sql::{args, write_transaction, Conn};
use crate::{db_error, Store};

impl Store {
    /// Counts one call in `bucket`'s window `[window_start, window_end)`
    /// (epoch seconds) and returns the calls so far, this one included.
    /// Every limited request writes here, so on SQLite it goes to the writer
    /// thread with the other hot writes.
    pub async fn count_call(&self, bucket: &str, window_start: i64, window_end: i64) -> Result<i64, Error> {
        let bucket = bucket.to_owned();
        write_transaction!(self, |conn| count_in(conn, bucket, window_start, window_end))
    }

    /// Forgets windows that ended before `now` (epoch seconds).
    pub async fn purge_rate_counters(&self, now: i64) -> Result<(), Error> {
        sqlx::query("DELETE FROM rate_counters WHERE window_end < $1")
            .bind(now)
            .execute(&mut *self.writing().await?)
            .await
            .map(drop)
            .map_err(db_error)
    }
}

async fn count_in(conn: &mut impl Conn, bucket: String, window_start: i64, window_end: i64) -> Result<i64, Error> {
    conn.fetch_count(
        "INSERT INTO rate_counters (bucket, window_start, window_end, calls) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET calls = rate_counters.calls + 1 RETURNING calls AS n",
        args![bucket, window_start, window_end],
    )
    .await
}
