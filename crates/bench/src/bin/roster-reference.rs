//! `roster-reference`: the durable-write target's physical reference, served
//! so that `roster-bench --reference` measures it with the same generator,
//! on the same machine, in the same run as Roster.
//!
//! The issue's reference figures ("the same updates committed together by one
//! writer thread (group commit) about 0.6 of the floor") were measured with
//! `wrk` on one machine once. This is that server, with Roster's pipeline and
//! nothing else: axum with no middleware; `PUT /rows/{id}` parses its JSON
//! body and hands one `UPDATE ... json_set(...)` by primary key to one writer
//! thread, which commits every job queued at `synchronous = NORMAL` and hands
//! the batch to a flusher thread, which `fdatasync`s the WAL once for every
//! batch committed since its last flush and only then answers. No
//! authentication, rights, versions, tags or validation: what Roster's PUTs
//! do beyond this is what they cost beyond it.

use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::Router;
use clap::Parser;
use tokio::sync::{mpsc, oneshot};

#[derive(Parser)]
#[command(about = "A bare group-commit server: the reference roster-bench --reference measures")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The SQLite file (its rows are created when it has fewer than `rows`).
    #[arg(long)]
    database: PathBuf,
    /// Rows to have, ids 0 to rows - 1.
    #[arg(long)]
    rows: i64,
}

/// A row's flag to set, and where to say once it is on disk.
type Job = (i64, bool, oneshot::Sender<()>);

async fn put_flag(State(jobs): State<mpsc::UnboundedSender<Job>>, Path(id): Path<i64>, body: Bytes) -> StatusCode {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&body) else { return StatusCode::BAD_REQUEST };
    let Some(flag) = doc["templateApplyNotify"].as_bool() else { return StatusCode::BAD_REQUEST };
    let (done, durable) = oneshot::channel();
    if jobs.send((id, flag, done)).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match durable.await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn open(args: &Args) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(&args.database)?;
    conn.execute_batch(
        // As Roster's writer: its checkpoint interval and page cache.
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000; \
         PRAGMA cache_size = -32768; CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);",
    )?;
    let have: i64 = conn.query_row("SELECT count(*) FROM rows", [], |r| r.get(0))?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO rows (id, doc) VALUES (?1, ?2)")?;
        for id in have..args.rows {
            insert.execute((id, r#"{"templateApplyNotify":"false","locale":"fr"}"#))?;
        }
    }
    tx.commit()?;
    Ok(conn)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let conn = open(&args)?;
    let mut wal = args.database.clone().into_os_string();
    wal.push("-wal");
    let (batches, flushes) = std::sync::mpsc::channel::<Vec<oneshot::Sender<()>>>();
    std::thread::Builder::new().name("reference-flush".into()).spawn(move || {
        while let Ok(mut answers) = flushes.recv() {
            while let Ok(more) = flushes.try_recv() {
                answers.extend(more);
            }
            // A failed flush drops the answers: their requests are answered 500.
            if std::fs::File::open(&wal).and_then(|wal| wal.sync_data()).is_ok() {
                for answer in answers {
                    let _ = answer.send(());
                }
            }
        }
    })?;
    let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
    std::thread::Builder::new().name("reference-write".into()).spawn(move || {
        while let Some(first) = queue.blocking_recv() {
            let mut batch = vec![first];
            while let Ok(job) = queue.try_recv() {
                batch.push(job);
            }
            let committed = (|| {
                conn.execute_batch("BEGIN IMMEDIATE")?;
                let mut update = conn
                    .prepare_cached("UPDATE rows SET doc = json_set(doc, '$.templateApplyNotify', ?1) WHERE id = ?2")?;
                for (id, flag, _) in &batch {
                    update.execute((if *flag { "true" } else { "false" }, id))?;
                }
                conn.execute_batch("COMMIT")
            })();
            if committed.is_ok() {
                let _ = batches.send(batch.into_iter().map(|(_, _, answer)| answer).collect());
            } else {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    })?;
    let app =
        Router::new().route("/healthz", get(|| async { "ok" })).route("/rows/{id}", put(put_flag)).with_state(jobs);
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen).await?;
        println!("reference listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}
