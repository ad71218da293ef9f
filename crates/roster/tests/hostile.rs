//! Hostile input: each gets a clear 4xx (or the connection is cut), the
//! server stays up, and nothing changes.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use roster_api::ApiConfig;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw bytes and returns what the server answered before closing (or
/// within `wait`), tolerating a server that stops reading early.
async fn raw(addr: &str, head: Vec<u8>, body: Vec<u8>, wait: Duration) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&head).await;
        for chunk in body.chunks(64 * 1024) {
            if wr.write_all(chunk).await.is_err() {
                break;
            }
        }
        wr
    });
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, rd.read_to_end(&mut out)).await;
    writer.abort();
    String::from_utf8_lossy(&out).into_owned()
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

async fn still_up(app: &TestApp) {
    let (s, list) = app.get(&app.ds("/users"), &app.admin_token).await;
    assert_eq!(s, StatusCode::OK, "the server still answers: {list}");
    assert_eq!(list["totalSetSize"], "1", "and nothing was created");
}

async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off_with_413() {
    let app = TestApp::spawn().await;
    let size = 3 * 1024 * 1024;
    let mut body = Vec::new();
    let payload = vec![b' '; size];
    for chunk in payload.chunks(16 * 1024) {
        body.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend(chunk);
        body.extend(b"\r\n");
    }
    body.extend(b"0\r\n\r\n");
    let head = format!(
        "POST /v2.1/accounts/{}/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.account_id, app.admin_token
    );
    let answer = raw(&addr(&app), head.into_bytes(), body, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{}", answer.lines().next().unwrap_or_default());
    assert!(answer.contains("REQUEST_ENTITY_TOO_LARGE"));
    still_up(&app).await;
}

#[tokio::test]
async fn deep_nesting_huge_arrays_and_bad_utf8_are_refused() {
    let app = TestApp::spawn().await;
    let users = format!("/v2.1/accounts/{}/users", app.account_id);
    let deep = format!(r#"{{"newUsers": [{}{}]}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let (s, e) = post_raw(&app, &users, deep.into_bytes()).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY"), "{e}");

    let many = format!(r#"{{"newUsers": [{}{{}}]}}"#, "{},".repeat(99_999));
    let (s, e) = post_raw(&app, &users, many.into_bytes()).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"));
    assert!(e["message"].as_str().unwrap().contains("100000"), "{e}");
    let settings = json!({"customSettings": vec![json!({"name": "n", "value": "v"}); 100_000]});
    let r = app
        .http
        .put(app.ds(&format!("/users/{}/custom_settings", app.admin_id)))
        .bearer_auth(&app.admin_token)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "100,000 settings are over the body limit");
    let settings = json!({"customSettings": vec![json!({"name": "n"}); 20_000]});
    let r = app
        .http
        .put(app.ds(&format!("/users/{}/custom_settings", app.admin_id)))
        .bearer_auth(&app.admin_token)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let mut bad = br#"{"newUsers": [{"userName": "X"#.to_vec();
    bad.extend([0xff, 0xfe]);
    bad.extend(br#"", "email": "x@example.com"}]}"#);
    let (s, e) = post_raw(&app, &users, bad).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY"));
    let (s, _) = app.get(&app.url(&format!("/v2.1/accounts/{}/users/%FF%FE", app.account_id)), &app.admin_token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    still_up(&app).await;
}

#[tokio::test]
async fn control_characters_in_names_are_refused_per_item() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([
            {"userName": "Nul\u{0}Byte", "email": "a@example.com"},
            {"userName": "Bell\u{7}", "email": "b@example.com"},
            {"userName": "Fine", "email": "c@exa\u{0}mple.com"},
            {"userName": "Ok", "firstName": "Line\nBreak", "email": "d@example.com"},
        ]))
        .await;
    for item in &created {
        assert!(item["errorDetails"]["errorCode"].is_string(), "{item}");
    }
    still_up(&app).await;
}

#[tokio::test]
async fn duplicate_keys_are_refused_anywhere() {
    let app = TestApp::spawn().await;
    let users = format!("/v2.1/accounts/{}/users", app.account_id);
    let body = r#"{"newUsers": [{"userName": "A", "email": "a@example.com", "email": "b@example.com"}]}"#;
    let (s, e) = post_raw(&app, &users, body.as_bytes().to_vec()).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY"));
    assert!(e["message"].as_str().unwrap().contains("email"), "{e}");
    let r = app
        .http
        .put(app.ds(&format!("/users/{}/settings", app.admin_id)))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(r#"{"locale": "fr", "locale": "de"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, st) = app.get(&app.ds(&format!("/users/{}/settings", app.admin_id)), &app.admin_token).await;
    assert_eq!(st["locale"], "en");
    still_up(&app).await;
}

#[tokio::test]
async fn traversal_and_sql_in_ids_find_nothing() {
    let app = TestApp::spawn().await;
    for path in [
        "/v2.1/accounts/1%27%20OR%20%271%27%3D%271/users".to_owned(),
        "/v2.1/accounts/..%2F..%2Fetc%2Fpasswd/users".to_owned(),
        format!("/v2.1/accounts/{}/users/..%2F..%2Fadmin", app.account_id),
        format!("/v2.1/accounts/{}/users/%27%3B%20DROP%20TABLE%20users%3B--", app.account_id),
        format!("/v2.1/accounts/{}/groups/1%3BDELETE%20FROM%20groups/users", app.account_id),
        format!("/v2.1/accounts/{}/permission_profiles/1%20OR%201%3D1", app.account_id),
    ] {
        let (s, e) = app.get(&app.url(&path), &app.admin_token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {e}");
    }
    let (s, list) = app.get(&app.ds("/users?email=%27%20OR%20%271%27%3D%271"), &app.admin_token).await;
    assert_eq!((s, list["totalSetSize"].as_str()), (StatusCode::OK, Some("0")));
    let (_, groups) = app.get(&app.ds("/groups"), &app.admin_token).await;
    assert_eq!(groups["totalSetSize"], "2");
    still_up(&app).await;
}

#[tokio::test]
async fn wrong_json_types_name_the_field() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (json!({"newUsers": [{"userName": 42, "email": "a@example.com"}]}), "newUsers[0].userName"),
        (json!({"newUsers": [{"userName": "A", "email": ["a@example.com"]}]}), "newUsers[0].email"),
        (json!({"newUsers": "all of them"}), "newUsers"),
        (json!({"newUsers": [{"userName": "A", "email": "a@example.com", "isAdmin": 1}]}), "newUsers[0].isAdmin"),
    ] {
        let (s, e) = app.post(&app.ds("/users"), &app.admin_token, body.clone()).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY"), "{body}");
        assert!(e["message"].as_str().unwrap().contains(field), "{body}: {e}");
    }
    still_up(&app).await;
}

#[tokio::test]
async fn huge_headers_are_refused_and_the_server_stays_up() {
    let app = TestApp::spawn().await;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(10 * 1024 * 1024));
    let answer = raw(&addr(&app), head.into_bytes(), Vec::new(), Duration::from_secs(10)).await;
    let status = answer.lines().next().unwrap_or_default().to_owned();
    assert!(status.is_empty() || status.starts_with("HTTP/1.1 431"), "refused or cut: {status}");
    still_up(&app).await;
}

async fn quick_timeouts() -> TestApp {
    let config = ApiConfig {
        header_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    TestApp::spawn_with(TestDb::new().await, Default::default(), config).await
}

#[tokio::test]
async fn clients_that_trickle_headers_are_cut_off() {
    let app = quick_timeouts().await;
    let started = std::time::Instant::now();
    // Half a request line, then nothing: the server closes the connection.
    let answer =
        raw(&addr(&app), b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec(), Vec::new(), Duration::from_secs(20)).await;
    assert!(started.elapsed() < Duration::from_secs(15), "cut off by the header timeout, not by the test");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    still_up(&app).await;
}

#[tokio::test]
async fn clients_that_trickle_the_body_get_408() {
    let app = quick_timeouts().await;
    let stream = TcpStream::connect(addr(&app)).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /v2.1/accounts/{}/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
        app.account_id, app.admin_token
    );
    wr.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), rd.read_to_end(&mut out)).await;
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    still_up(&app).await;
}

#[tokio::test]
async fn ten_thousand_idle_connections_do_not_starve_the_server() {
    let db = TestDb::new().await;
    let node =
        serve(&db.url, &[("ROSTER_ADMIN_EMAIL", "idle@example.com"), ("ROSTER_ADMIN_PASSWORD", "idle-password-1")]);
    let addr = node.base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let r = reqwest::get(format!("{}/healthz", node.base)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "answered with 10,000 idle connections open");
    let login = password_grant(&reqwest::Client::new(), &node.base, "idle@example.com", "idle-password-1").await;
    assert!(login.is_ok(), "and reaches the database");
    drop(idle);
}
