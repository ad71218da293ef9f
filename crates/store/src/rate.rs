//! API call counters shared by every node.

use roster_domain::Error;

use crate::{db_error, Store};

impl Store {
    /// Counts one call in `bucket`'s window starting at `window_start`
    /// (epoch seconds) and returns the calls so far, this one included.
    pub async fn count_call(&self, bucket: &str, window_start: i64) -> Result<i64, Error> {
        // An explicit transaction: in autocommit mode SQLite commits a
        // RETURNING statement only once it is reset, which a fetched-one row
        // does not do, so another node could miss the count.
        let mut tx = self.write.begin().await.map_err(db_error)?;
        let calls = sqlx::query_scalar(
            "INSERT INTO rate_counters (bucket, window_start, calls) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET calls = rate_counters.calls + 1 RETURNING calls",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(calls)
    }

    /// Forgets windows that ended before `before` (epoch seconds).
    pub async fn purge_rate_counters(&self, before: i64) -> Result<(), Error> {
        sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before)
            .execute(&self.write)
            .await
            .map(drop)
            .map_err(db_error)
    }
}
