//! Two `roster serve` processes on one PostgreSQL database behave as one
//! server. Needs `ROSTER_TEST_POSTGRES_URL` (`.ci/run` sets it).

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ADMIN: &str = "nodes-admin@example.com";
const ADMIN_PW: &str = "nodes-admin-pw-1";

struct Nodes {
    a: Serve,
    b: Serve,
    http: reqwest::Client,
    account: String,
    token: String,
    db: TestDb,
}

impl Nodes {
    async fn start() -> Option<Nodes> {
        let db = TestDb::postgres_only("SQLite serves one node").await?;
        let env = [("ROSTER_ADMIN_EMAIL", ADMIN), ("ROSTER_ADMIN_PASSWORD", ADMIN_PW)];
        let a = serve(&db.url, &env);
        let b = serve(&db.url, &env);
        let http = reqwest::Client::new();
        let token = token(&http, &a.base).await;
        let account = first_account(&http, &b.base, &token).await;
        Some(Nodes { a, b, http, account, token, db })
    }

    fn users(&self, node: &Serve) -> String {
        format!("{}/v2.1/accounts/{}/users", node.base, self.account)
    }

    /// Creates a user through `node`; its id.
    async fn create_user(&self, node: &Serve, name: &str, email: &str) -> String {
        let created: Value = self
            .http
            .post(self.users(node))
            .bearer_auth(&self.token)
            .json(&json!({"newUsers": [{"userName": name, "email": email}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["newUsers"][0]["userId"].as_str().expect("created").to_owned()
    }
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    password_grant(http, base, ADMIN, ADMIN_PW).await.expect("admin login")
}

#[tokio::test]
async fn two_nodes_share_writes_tokens_and_versions() {
    let Some(n) = Nodes::start().await else { return };
    // Both nodes started on the empty database; exactly one account was created.
    let info: Value = n
        .http
        .get(format!("{}/oauth/userinfo", n.a.base))
        .bearer_auth(&n.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["accounts"].as_array().unwrap().len(), 1, "{info}");

    // A write on A is visible on B at once, and the reverse.
    let id = n.create_user(&n.a, "Ann", "ann@example.com").await;
    let on_b = format!("{}/{id}", n.users(&n.b));
    let on_a = format!("{}/{id}", n.users(&n.a));
    let r = n.http.get(&on_b).bearer_auth(&n.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let stale = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = n.http.put(&on_b).bearer_auth(&n.token).json(&json!({"jobTitle": "CTO"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let u: Value = n.http.get(&on_a).bearer_auth(&n.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(u["jobTitle"], "CTO");

    // An ETag read on B is stale on A after the change: 412 there.
    let r = n
        .http
        .put(&on_a)
        .bearer_auth(&n.token)
        .header("If-Match", &stale)
        .json(&json!({"jobTitle": "Intern"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);

    // A token from B's login works on A; revoked on A, it fails on B.
    let t = token(&n.http, &n.b.base).await;
    assert_eq!(n.http.get(n.users(&n.a)).bearer_auth(&t).send().await.unwrap().status(), StatusCode::OK);
    n.http.post(format!("{}/oauth/revoke", n.a.base)).form(&[("token", &t)]).send().await.unwrap();
    assert_eq!(n.http.get(n.users(&n.b)).bearer_auth(&t).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // An idempotent retry on the other node replays.
    let body = json!({"newUsers": [{"userName": "Bob", "email": "bob@example.com"}]});
    let first: Value = n
        .http
        .post(n.users(&n.a))
        .bearer_auth(&n.token)
        .header("Idempotency-Key", "bob")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = n
        .http
        .post(n.users(&n.b))
        .bearer_auth(&n.token)
        .header("Idempotency-Key", "bob")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.json::<Value>().await.unwrap(), first);
}

#[tokio::test]
async fn concurrent_creates_of_one_email_on_two_nodes_create_it_once() {
    let Some(n) = Nodes::start().await else { return };
    for round in 0..10 {
        let email = format!("racer{round}@example.com");
        let send = |node: &Serve| {
            let body = json!({"newUsers": [{"userName": "Racer", "email": email}]});
            n.http.post(n.users(node)).bearer_auth(&n.token).json(&body).send()
        };
        let (ra, rb) = tokio::join!(send(&n.a), send(&n.b));
        let mut errors = Vec::new();
        for r in [ra.unwrap(), rb.unwrap()] {
            assert_eq!(r.status(), StatusCode::CREATED);
            let body: Value = r.json().await.unwrap();
            errors.push(body["newUsers"][0]["errorDetails"]["errorCode"].as_str().map(str::to_owned));
        }
        errors.sort();
        assert_eq!(errors, [None, Some("USER_ALREADY_EXISTS_IN_ACCOUNT".to_owned())], "round {round}");
    }
}

/// The database's change counters (`last_value` and `is_called` of each
/// sequence): what tells every node that its cached reads may be stale.
async fn counters(db: &sqlx::PgPool) -> ((i64, bool), (i64, bool)) {
    let (every, every_called, auth, auth_called): (i64, bool, i64, bool) =
        sqlx::query_as("SELECT c.last_value, c.is_called, a.last_value, a.is_called FROM changes c, auth_changes a")
            .fetch_one(db)
            .await
            .unwrap();
    ((every, every_called), (auth, auth_called))
}

#[tokio::test]
async fn refused_requests_leave_every_nodes_caches_alone() {
    let Some(n) = Nodes::start().await else { return };
    let db = sqlx::PgPool::connect(&n.db.url).await.unwrap();
    let user = format!("{}/{}", n.users(&n.a), n.create_user(&n.a, "Ann", "ann@example.com").await);
    let (settings, custom) = (format!("{user}/settings"), format!("{user}/custom_settings"));
    let put = |url: &str, body: Value| n.http.put(url).bearer_auth(&n.token).json(&body);

    // A settings write moves the counter of every write, not authentication's.
    let before = counters(&db).await;
    assert_eq!(put(&settings, json!({"locale": "fr"})).send().await.unwrap().status(), StatusCode::OK);
    let after = counters(&db).await;
    assert_ne!(after.0, before.0);
    assert_eq!(after.1, before.1);

    // Requests refused before anything was written move neither.
    let refused = [
        (put(&settings, json!({"locale": "de"})).header("If-Match", "\"stale\""), StatusCode::PRECONDITION_FAILED),
        (put(&settings, json!({"templateApplyNotify": "maybe"})), StatusCode::BAD_REQUEST),
        (
            put(&custom, json!({"customSettings": [{"name": "a", "value": "b"}]})).header("If-Match", "\"stale\""),
            StatusCode::PRECONDITION_FAILED,
        ),
        (
            n.http.post(n.users(&n.a)).bearer_auth("not-a-token").json(&json!({"newUsers": []})),
            StatusCode::UNAUTHORIZED,
        ),
        (
            n.http.put(n.users(&n.a)).bearer_auth(&n.token).body("users").header("Content-Type", "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (n.http.post(format!("{}/v2.1/nowhere", n.a.base)).bearer_auth(&n.token), StatusCode::NOT_FOUND),
        (
            n.http.put(format!("{}/api/users/nobody.roster/settings", n.a.base)).json(&json!({})),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (request, status) in refused {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status, "{}", r.text().await.unwrap());
        assert_eq!(counters(&db).await, after, "a refused request moved a change counter");
    }

    // Any other write moves both.
    assert_eq!(put(&user, json!({"jobTitle": "CTO"})).send().await.unwrap().status(), StatusCode::OK);
    let last = counters(&db).await;
    assert_ne!(last.0, after.0);
    assert_ne!(last.1, after.1);
}
