//! The `roster` binary itself: init, token, first start, graceful stop.

mod common;

use std::process::Command;

use common::{roster, serve, TestDb};
use serde_json::Value;

fn init(db: &str, account: &str, email: &str) -> std::process::Output {
    roster()
        .args(["init", "--database", db, "--account-name", account, "--admin-email", email])
        .args(["--admin-password", "init-password-1"])
        .output()
        .expect("run roster init")
}

#[tokio::test]
async fn init_prints_one_json_line_and_refuses_a_taken_email() {
    let db = TestDb::new().await;
    let out = init(&db.url, "Acme", "owner@example.com");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let line: Value = serde_json::from_str(stdout.trim()).unwrap();
    for key in ["accountId", "accountIdGuid", "userId", "accessToken"] {
        assert!(line[key].as_str().is_some_and(|v| !v.is_empty()), "{key} in {line}");
    }
    assert_eq!(line.as_object().unwrap().len(), 4);

    let again = init(&db.url, "Other", "OWNER@example.com");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already exists"), "{err}");

    let second = init(&db.url, "Beta", "beta@example.com");
    assert!(second.status.success());
    let second: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_ne!(second["accountId"], line["accountId"]);

    let token = roster().args(["token", "--database", &db.url, "--email", "beta@example.com"]).output().unwrap();
    assert!(token.status.success());
    assert_eq!(String::from_utf8(token.stdout).unwrap().trim().len(), 43);
    let unknown = roster().args(["token", "--database", &db.url, "--email", "nobody@example.com"]).output().unwrap();
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn first_start_creates_an_admin_with_a_generated_password_printed_once() {
    let db = TestDb::new().await;
    let s = serve(&db.url, &[]);
    let text = s.first_start.join("\n");
    assert!(text.contains("admin@localhost"), "{text}");
    let password =
        text.split("Generated password (shown only now): ").nth(1).unwrap().lines().next().unwrap().to_owned();
    let http = reqwest::Client::new();
    assert!(common::password_grant(&http, &s.base, "admin@localhost", &password).await.is_ok());
    // The ready curl line works as printed.
    let curl_token = text.split("Bearer ").nth(1).unwrap().split('\'').next().unwrap();
    let url = text.split("' ").last().unwrap().trim();
    let r = http.get(url).bearer_auth(curl_token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    drop(s);

    // Second start: nothing is created or printed again.
    let again = serve(&db.url, &[]);
    assert!(again.first_start.is_empty(), "{:?}", again.first_start);
}

#[tokio::test]
async fn first_start_uses_the_configured_admin_and_sigterm_stops_gracefully() {
    let db = TestDb::new().await;
    let mut s =
        serve(&db.url, &[("ROSTER_ADMIN_EMAIL", "boss@example.com"), ("ROSTER_ADMIN_PASSWORD", "boss-password-1")]);
    let text = s.first_start.join("\n");
    assert!(text.contains("boss@example.com") && !text.contains("boss-password-1"), "{text}");
    let http = reqwest::Client::new();
    assert!(common::password_grant(&http, &s.base, "boss@example.com", "boss-password-1").await.is_ok());
    let status = Command::new("kill").args(["-TERM", &s.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = s.child.wait().unwrap();
    assert!(exit.success(), "a SIGTERM stop is a clean exit: {exit:?}");
}

#[tokio::test]
async fn migrate_reports_the_version_and_a_newer_schema_is_refused() {
    let db = TestDb::new().await;
    let out = roster().args(["migrate", "--database", &db.url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("database schema at version "), "{text}");

    let store = roster_store::Store::connect(&db.url, &Default::default()).await.unwrap();
    let success = if db.is_postgres() { "true" } else { "1" };
    let checksum = if db.is_postgres() { "'\\x00'::bytea" } else { "x'00'" };
    store
        .execute_admin(&format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990001, 'from the future', {success}, {checksum}, 0)"
        ))
        .await
        .unwrap();
    store.close().await;
    for args in [vec!["migrate"], vec!["token", "--email", "x@example.com"]] {
        let out = roster().args(&args).args(["--database", &db.url]).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("99990001") && err.contains("newer than this binary"), "{err}");
    }
}

#[tokio::test]
async fn backup_copies_a_serving_database_and_roster_starts_on_the_copy() {
    let app = common::TestApp::spawn_in(TestDb::sqlite(), Default::default()).await;
    let id = app.create_user("kept@example.com", "Kept").await;
    let copy = app.db.file("backup.db");
    let out = roster().args(["backup", "--database", &app.db.url, "--to", &copy]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The original keeps serving writes; they are not in the copy.
    app.create_user("later@example.com", "Later").await;

    let again = roster().args(["backup", "--database", &app.db.url, "--to", &copy]).output().unwrap();
    assert!(!again.status.success(), "an existing file is never overwritten");

    let restored = format!("sqlite://{copy}");
    let s = serve(&restored, &[]);
    assert!(s.first_start.is_empty(), "the copy has its accounts: {:?}", s.first_start);
    let http = reqwest::Client::new();
    let token = app.login("kept@example.com", common::PASSWORD).await.unwrap();
    let url = format!("{}/restapi/v2.1/accounts/{}/users/{id}", s.base, app.account_id);
    let r = http.get(&url).bearer_auth(&app.admin_token).send().await.unwrap();
    assert_eq!(r.status(), 200, "tokens and users are in the copy");
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401, "a token issued after the backup is not in the copy");
    let list: Value = http
        .get(format!("{}/restapi/v2.1/accounts/{}/users?email=later@example.com", s.base, app.account_id))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["totalSetSize"], "0");
}

#[tokio::test]
async fn a_second_server_on_one_sqlite_file_is_refused() {
    let db = TestDb::new().await;
    if db.is_postgres() {
        return; // several nodes on PostgreSQL are the point
    }
    let env = [("ROSTER_ADMIN_EMAIL", "lock@example.com"), ("ROSTER_ADMIN_PASSWORD", "lock-password-1")];
    let mut first = serve(&db.url, &env);
    let out = roster().args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url]).envs(env).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another Roster server is serving"), "{err}");
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // Once the first is gone, the file can be served again.
    let mut again = serve(&db.url, &env);
    again.child.kill().unwrap();
    again.child.wait().unwrap();
}
