//! `Idempotency-Key`: retries replay the first answer and apply nothing twice.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post_with_key(app: &TestApp, token: &str, key: &str, body: &Value) -> (StatusCode, Option<String>, Value) {
    post_to_with_key(app, &app.ds("/users"), token, key, body).await
}

async fn post_to_with_key(
    app: &TestApp,
    url: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Option<String>, Value) {
    let r = app.http.post(url).bearer_auth(token).header("Idempotency-Key", key).json(body).send().await.unwrap();
    let replayed = r.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    (r.status(), replayed, r.json().await.unwrap())
}

#[tokio::test]
async fn a_retried_create_replays_the_first_answer_and_creates_once() {
    let app = TestApp::spawn().await;
    let body = json!({"newUsers": [{"userName": "Ann", "email": "ann@example.com"}]});
    let (s1, r1, first) = post_with_key(&app, &app.admin_token, "create-ann-1", &body).await;
    let (s2, r2, second) = post_with_key(&app, &app.admin_token, "create-ann-1", &body).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!((r1, r2.as_deref()), (None, Some("true")));
    assert_eq!(first, second, "the same userId, not USER_ALREADY_EXISTS");
    assert!(first["newUsers"][0]["errorDetails"].is_null());
    let (_, list) = app.get(&app.ds("/users?email=ann@example.com"), &app.admin_token).await;
    assert_eq!(list["totalSetSize"], "1");

    // Without the key the duplicate is a per-item error, as usual.
    let (_, again) = app.post(&app.ds("/users"), &app.admin_token, body).await;
    assert_eq!(again["newUsers"][0]["errorDetails"]["errorCode"], "USER_ALREADY_EXISTS_IN_ACCOUNT");
}

#[tokio::test]
async fn a_retry_under_the_other_docusign_prefix_is_the_same_request() {
    let app = TestApp::spawn().await;
    let body = json!({"newUsers": [{"userName": "Ann", "email": "ann@example.com"}]});
    let (s1, _, first) = post_with_key(&app, &app.admin_token, "create-ann-2", &body).await;
    let short = app.url(&format!("/v2.1/accounts/{}/users", app.account_id));
    let (s2, replayed, second) = post_to_with_key(&app, &short, &app.admin_token, "create-ann-2", &body).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(first, second);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = TestApp::spawn().await;
    let a = json!({"newUsers": [{"userName": "Ann", "email": "ann@example.com"}]});
    let b = json!({"newUsers": [{"userName": "Bob", "email": "bob@example.com"}]});
    post_with_key(&app, &app.admin_token, "k", &a).await;
    let (s, _, err) = post_with_key(&app, &app.admin_token, "k", &b).await;
    assert_eq!((s, code(&err)), (StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED"));
    let (_, list) = app.get(&app.ds("/users?email=bob@example.com"), &app.admin_token).await;
    assert_eq!(list["totalSetSize"], "0");
}

#[tokio::test]
async fn keys_are_scoped_per_caller() {
    let app = TestApp::spawn().await;
    let second_admin = app
        .create_users(json!([{"userName": "Two", "email": "two@example.com", "password": PASSWORD, "isAdmin": "true"}]))
        .await;
    assert!(second_admin[0]["errorDetails"].is_null());
    let token = app.login("two@example.com", PASSWORD).await.unwrap();
    let a = json!({"newUsers": [{"userName": "Ann", "email": "ann@example.com"}]});
    let b = json!({"newUsers": [{"userName": "Bob", "email": "bob@example.com"}]});
    post_with_key(&app, &app.admin_token, "shared-key", &a).await;
    let (s, replayed, resp) = post_with_key(&app, &token, "shared-key", &b).await;
    assert_eq!((s, replayed), (StatusCode::CREATED, None));
    assert_eq!(resp["newUsers"][0]["email"], "bob@example.com");
}

#[tokio::test]
async fn a_retried_update_replays_even_after_later_changes() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}"));
    let put = |key: &'static str, body: Value| {
        app.http.put(&url).bearer_auth(&app.admin_token).header("Idempotency-Key", key).json(&body).send()
    };
    let first: Value = put("u1", json!({"jobTitle": "CTO"})).await.unwrap().json().await.unwrap();
    app.put(&url, &app.admin_token, json!({"jobTitle": "CEO"})).await;
    let r = put("u1", json!({"jobTitle": "CTO"})).await.unwrap();
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.json::<Value>().await.unwrap(), first);
    let (_, now) = app.get(&url, &app.admin_token).await;
    assert_eq!(now["jobTitle"], "CEO", "the retry applied nothing");
}

#[tokio::test]
async fn client_errors_are_replayed_too_and_reads_ignore_keys() {
    let app = TestApp::spawn().await;
    let bad = json!({"newUsers": [{"userName": "X", "email": "not-an-email"}]});
    let (_, _, first) = post_with_key(&app, &app.admin_token, "bad", &bad).await;
    let (_, replayed, second) = post_with_key(&app, &app.admin_token, "bad", &bad).await;
    assert_eq!((first, replayed.as_deref()), (second, Some("true")));
    let r = app
        .http
        .get(app.ds("/users"))
        .bearer_auth(&app.admin_token)
        .header("Idempotency-Key", "bad")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn akana_cookie_sessions_are_covered_too() {
    let app = TestApp::spawn().await;
    let (me, _) = app.member("ann@example.com", "Ann").await;
    let r = app
        .http
        .post(app.url("/api/login"))
        .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let csrf = cookies.iter().find_map(|c| c.strip_prefix("Csrf-Token_roster=")).unwrap().to_owned();
    let put = |body: Value| {
        app.http
            .put(app.url(&format!("/api/users/{me}.roster/settings")))
            .header("cookie", cookies.join("; "))
            .header("X-Csrf-Token_roster", &csrf)
            .header("Idempotency-Key", "opt-out")
            .json(&body)
            .send()
    };
    let first = put(json!({"OptedNotification": []})).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let again = put(json!({"OptedNotification": []})).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), format!("{me}.roster"), "the text/plain answer is replayed as it was");
    assert_eq!(
        put(json!({"OptedNotification": ["com.soa.notification.type.appteam"]})).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
