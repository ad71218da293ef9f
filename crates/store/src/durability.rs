//! Group commit for SQLite. With `synchronous = full` Roster runs SQLite at
//! `NORMAL`, so a commit only writes its frames to the WAL, and makes them
//! durable itself: every write request waits on [`GroupSync::sync`] before it
//! is answered, and one `fdatasync` of the WAL serves every request that
//! committed before it started. The single writer connection never waits on
//! the disk, and concurrent writers share one flush instead of one each.

use std::path::PathBuf;

use roster_domain::Error;
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), String>>;

/// The handle requests wait on; a background task does the flushing.
#[derive(Clone)]
pub(crate) struct GroupSync {
    waiters: mpsc::UnboundedSender<Waiter>,
}

impl GroupSync {
    /// Starts the flusher for the WAL of the database file `db`.
    pub(crate) fn start(db: PathBuf) -> GroupSync {
        let mut wal = db.into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let (waiters, mut queue) = mpsc::unbounded_channel::<Waiter>();
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                // Everyone queued by now committed before this flush starts.
                let mut batch = vec![first];
                while let Ok(more) = queue.try_recv() {
                    batch.push(more);
                }
                let wal = wal.clone();
                let outcome = tokio::task::spawn_blocking(move || flush(&wal))
                    .await
                    .unwrap_or_else(|e| Err(format!("flush task: {e}")));
                for waiter in batch {
                    let _ = waiter.send(outcome.clone());
                }
            }
        });
        GroupSync { waiters }
    }

    /// Returns once every commit made before the call is on disk.
    pub(crate) async fn sync(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.waiters.send(tx).map_err(|_| Error::Unavailable)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Internal(format!("cannot flush the WAL: {e}"))),
            Err(_) => Err(Error::Unavailable),
        }
    }
}

/// Flushes the WAL file. It is opened afresh each time: SQLite may delete
/// and recreate it, and `fdatasync` flushes the file, whichever descriptor
/// asks. No WAL means every commit was checkpointed into the database file,
/// which SQLite syncs itself at checkpoints.
fn flush(wal: &std::path::Path) -> Result<(), String> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data().map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
