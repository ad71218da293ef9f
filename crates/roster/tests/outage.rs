//! A PostgreSQL database that goes away: 503 and a failing /readyz while it
//! is gone, recovery without a restart when it is back. Needs
//! `ROSTER_TEST_POSTGRES_URL` (`.ci/run` sets it); on SQLite it has nothing to test.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use roster_store::PoolConfig;

#[tokio::test]
async fn a_lost_database_gives_503_and_roster_recovers_when_it_returns() {
    let Some(db) = TestDb::postgres_only("SQLite is in-process and cannot go away").await else { return };
    let pool = PoolConfig { max_connections: 4, acquire_timeout: Duration::from_secs(1), ..Default::default() };
    let app = TestApp::spawn_in(db, pool).await;
    let ready = || async { app.http.get(app.url("/readyz")).send().await.unwrap().status() };
    assert_eq!(ready().await, StatusCode::OK);

    app.db
        .pg_admin(
            "ALTER DATABASE {db} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'",
        )
        .await;
    assert_eq!(ready().await, StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = app.get(&app.ds("/users"), &app.admin_token).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"), "{body}");
    let live = app.http.get(app.url("/healthz")).send().await.unwrap().status();
    assert_eq!(live, StatusCode::OK, "liveness does not depend on the database");

    app.db.pg_admin("ALTER DATABASE {db} ALLOW_CONNECTIONS true").await;
    let (status, body) = app.get(&app.ds("/users"), &app.admin_token).await;
    assert_eq!(status, StatusCode::OK, "recovered without a restart: {body}");
    assert_eq!(ready().await, StatusCode::OK);
}
