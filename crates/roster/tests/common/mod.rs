//! Black-box harness: the real server on port 0 with a fresh database
//! (SQLite in a temp dir, or a new PostgreSQL database when
//! `ROSTER_TEST_POSTGRES_URL` is set), spoken to over HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::{Method, StatusCode};
use roster::{create_account, open_store, Server};
use roster_api::ApiConfig;
use roster_store::{PoolConfig, Store};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "user-password-1";

/// A fresh database, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("ROSTER_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
                sqlx_exec(&admin_url, &format!("CREATE DATABASE {name}")).await;
                let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("postgres URL with a database");
                TestDb { url: format!("{base}/{name}"), _dir: None, postgres: Some((admin_url, name)) }
            }
            None => TestDb::sqlite(),
        }
    }

    /// A fresh SQLite file, whatever the backend under test.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("roster.db").display());
        TestDb { url, _dir: Some(dir), postgres: None }
    }

    /// A path in this database's temp dir (SQLite only).
    pub fn file(&self, name: &str) -> String {
        self._dir.as_ref().expect("a SQLite test database").path().join(name).display().to_string()
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A fresh PostgreSQL database for a test that only PostgreSQL can run,
    /// or `None` (saying why on stderr) when the suite runs on SQLite.
    pub async fn postgres_only(why_not_sqlite: &str) -> Option<TestDb> {
        let db = TestDb::new().await;
        if !db.is_postgres() {
            eprintln!("needs ROSTER_TEST_POSTGRES_URL: {why_not_sqlite}");
            return None;
        }
        Some(db)
    }

    /// Runs SQL as the PostgreSQL server's admin, `{db}` standing for this database's name.
    pub async fn pg_admin(&self, sql: &str) {
        let (admin_url, name) = self.postgres.as_ref().expect("a PostgreSQL test database");
        sqlx_exec(admin_url, &sql.replace("{db}", name)).await;
    }
}

async fn sqlx_exec(url: &str, sql: &str) {
    let store = Store::connect(url, &PoolConfig { max_connections: 1, ..Default::default() }).await.expect("connect");
    store.execute_admin(sql).await.expect(sql);
    store.close().await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside async code; a short-lived runtime does the cleanup.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(sqlx_exec(&admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub account_id: String,
    pub account_guid: String,
    pub admin_id: String,
    pub admin_token: String,
    pub store: Store,
    server: Option<Server>,
    config: ApiConfig,
    pub db: TestDb,
}

impl TestApp {
    /// A server with one account ("Acme") and its admin.
    pub async fn spawn() -> TestApp {
        Self::spawn_in(TestDb::new().await, PoolConfig::default()).await
    }

    /// The same, on a given database with given pool settings.
    pub async fn spawn_in(db: TestDb, pool: PoolConfig) -> TestApp {
        Self::spawn_with(db, pool, ApiConfig::default()).await
    }

    /// The same, with a given HTTP configuration.
    pub async fn spawn_with(db: TestDb, pool: PoolConfig, config: ApiConfig) -> TestApp {
        let store = open_store(&db.url, &pool).await.expect("store");
        let created = create_account(&store, "Acme", ADMIN_EMAIL, ADMIN_PASSWORD, 3600).await.expect("init");
        let server = Server::start(store.clone(), "127.0.0.1:0", config.clone()).await.expect("start");
        TestApp {
            base: format!("http://{}", server.addr()),
            http: reqwest::Client::new(),
            account_id: created.account.id.to_string(),
            account_guid: created.account.guid.to_string(),
            admin_id: created.admin.user.id.to_string(),
            admin_token: created.access_token,
            store,
            server: Some(server),
            config,
            db,
        }
    }

    /// A second server on the same database (another node).
    pub async fn second_node(&self) -> (Server, String) {
        let store = open_store(&self.db.url, &PoolConfig::default()).await.expect("store");
        let server = Server::start(store, "127.0.0.1:0", self.config.clone()).await.expect("start");
        let base = format!("http://{}", server.addr());
        (server, base)
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("stop");
        }
        let store = open_store(&self.db.url, &PoolConfig::default()).await.expect("store");
        let server = Server::start(store.clone(), "127.0.0.1:0", self.config.clone()).await.expect("start");
        self.base = format!("http://{}", server.addr());
        self.store = store;
        self.server = Some(server);
    }

    /// A second account with its own admin: (accountId, admin token, admin userId).
    pub async fn other_account(&self, name: &str, email: &str) -> (String, String, String) {
        let c = create_account(&self.store, name, email, ADMIN_PASSWORD, 3600).await.expect("account");
        (c.account.id.to_string(), c.access_token, c.admin.user.id.to_string())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A path under this app's account, on the SDK's prefix.
    pub fn ds(&self, path: &str) -> String {
        format!("{}/restapi/v2.1/accounts/{}{path}", self.base, self.account_id)
    }

    pub async fn call(&self, method: Method, url: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    pub async fn get(&self, url: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, url, token, None).await
    }

    pub async fn post(&self, url: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, url, token, Some(body)).await
    }

    pub async fn put(&self, url: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, url, token, Some(body)).await
    }

    pub async fn delete(&self, url: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::DELETE, url, token, Some(body)).await
    }

    /// Creates users (as the admin) and returns the response's `newUsers`.
    pub async fn create_users(&self, users: Value) -> Vec<Value> {
        let (status, body) = self.post(&self.ds("/users"), &self.admin_token, json!({ "newUsers": users })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["newUsers"].as_array().expect("newUsers").clone()
    }

    /// Creates a user with a password and returns its id.
    pub async fn create_user(&self, email: &str, name: &str) -> String {
        let created = self.create_users(json!([{ "email": email, "userName": name, "password": PASSWORD }])).await;
        assert!(created[0]["errorDetails"].is_null(), "{}", created[0]);
        created[0]["userId"].as_str().expect("userId").to_owned()
    }

    /// A token through the OAuth password grant.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, (StatusCode, Value)> {
        password_grant(&self.http, &self.base, email, password).await
    }

    /// A user with a password, logged in: (userId, token).
    pub async fn member(&self, email: &str, name: &str) -> (String, String) {
        let id = self.create_user(email, name).await;
        let token = self.login(email, PASSWORD).await.expect("login");
        (id, token)
    }
}

/// A token from the server at `base` through the OAuth password grant, or
/// the refusal.
pub async fn password_grant(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<String, (StatusCode, Value)> {
    let resp = http
        .post(format!("{base}/oauth/token"))
        .form(&[("grant_type", "password"), ("username", email), ("password", password)])
        .send()
        .await
        .expect("token request");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    if status == StatusCode::OK {
        Ok(body["access_token"].as_str().expect("access_token").to_owned())
    } else {
        Err((status, body))
    }
}

/// The GUID of the token holder's first account (from `/oauth/userinfo`).
pub async fn first_account(http: &reqwest::Client, base: &str, token: &str) -> String {
    let info: Value =
        http.get(format!("{base}/oauth/userinfo")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    info["accounts"][0]["account_id"].as_str().expect("an account").to_owned()
}

/// The `errorCode` of an error body.
pub fn code(body: &Value) -> &str {
    body["errorCode"].as_str().unwrap_or_default()
}

/// The `roster` binary, with no Roster settings inherited from the environment.
pub fn roster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    for var in ["ROSTER_DATABASE_URL", "ROSTER_ADMIN_PASSWORD", "ROSTER_ADMIN_EMAIL", "ROSTER_LISTEN"] {
        cmd.env_remove(var);
    }
    cmd
}

/// A `roster serve` child process, the base URL it printed, and what it
/// printed before (the first-start lines).
pub struct Serve {
    pub child: Child,
    pub base: String,
    pub first_start: Vec<String>,
}

/// Starts `roster serve` on port 0 and waits for its "listening" line.
pub fn serve(db: &str, envs: &[(&str, &str)]) -> Serve {
    let mut child = roster()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn roster serve");
    let mut first_start = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().expect("roster serve exited early").expect("stdout line");
        if let Some(base) = line.strip_prefix("roster listening on ") {
            break base.to_owned();
        }
        first_start.push(line);
    };
    Serve { child, base, first_start }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
