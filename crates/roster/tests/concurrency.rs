//! Lost-update protection (ETag, If-Match, If-None-Match) and concurrent writers.

mod common;

use common::*;
use reqwest::StatusCode;
use roster_api::ApiConfig;
use roster_store::PoolConfig;
use serde_json::{json, Value};

#[tokio::test]
async fn get_returns_an_etag_and_if_none_match_gives_304() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}"));
    let r = app.http.get(&url).bearer_auth(&app.admin_token).send().await.unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let r = app.http.get(&url).bearer_auth(&app.admin_token).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);

    app.put(&url, &app.admin_token, json!({"jobTitle": "CTO"})).await;
    let r = app.http.get(&url).bearer_auth(&app.admin_token).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag, "a change gives a new tag");
}

#[tokio::test]
async fn if_match_applies_only_to_the_version_read() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}"));
    let etag = app.http.get(&url).bearer_auth(&app.admin_token).send().await.unwrap().headers()["etag"].clone();

    let put = |tag: &str, body: Value| {
        app.http.put(&url).bearer_auth(&app.admin_token).header("If-Match", tag).json(&body).send()
    };
    // Writer one read `etag` and writes: fine, and it gets the new tag back.
    let r = put(etag.to_str().unwrap(), json!({"jobTitle": "CTO"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let new_tag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, etag.to_str().unwrap());

    // Writer two read the same old version: refused, nothing changes.
    let r = put(etag.to_str().unwrap(), json!({"jobTitle": "Intern"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(code(&r.json().await.unwrap()), "PRECONDITION_FAILED");
    for tag in ["W/\"1.1\"", "garbage"] {
        assert_eq!(put(tag, json!({"jobTitle": "Intern"})).await.unwrap().status(), StatusCode::PRECONDITION_FAILED);
    }
    let (_, u) = app.get(&url, &app.admin_token).await;
    assert_eq!(u["jobTitle"], "CTO");

    // The current tag, or *, applies.
    assert_eq!(put(&new_tag, json!({"jobTitle": "CEO"})).await.unwrap().status(), StatusCode::OK);
    assert_eq!(put("*", json!({"company": "Acme"})).await.unwrap().status(), StatusCode::OK);
    // Without If-Match, the last writer wins (as DocuSign behaves).
    let (s, u) = app.put(&url, &app.admin_token, json!({"jobTitle": "Founder"})).await;
    assert_eq!((s, u["jobTitle"].as_str()), (StatusCode::OK, Some("Founder")));
}

#[tokio::test]
async fn concurrent_partial_updates_of_different_fields_both_land() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}"));
    let fields = ["firstName", "lastName", "jobTitle", "company", "title", "middleName", "suffixName", "countryCode"];
    let writes = fields.iter().map(|f| {
        let body = json!({ *f: format!("v-{f}") });
        let (http, url, token) = (app.http.clone(), url.clone(), app.admin_token.clone());
        tokio::spawn(async move { http.put(&url).bearer_auth(token).json(&body).send().await.unwrap().status() })
    });
    for w in writes.collect::<Vec<_>>() {
        assert_eq!(w.await.unwrap(), StatusCode::OK);
    }
    let (_, u) = app.get(&url, &app.admin_token).await;
    for f in fields {
        assert_eq!(u[f], format!("v-{f}").as_str(), "{f} was lost: {u}");
    }
}

/// A member's writes that come together must apply one after the other (on
/// PostgreSQL, one member's second write waits for the next transaction of
/// member writes).
#[tokio::test]
async fn concurrent_settings_writes_of_one_user_all_land() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}/settings"));
    let changes = [
        json!({"locale": "fr"}),
        json!({"timezoneOffset": "tz_96_yakutsk"}),
        json!({"bulkSend": "true"}),
        json!({"canUseScratchpad": "true"}),
        json!({"templateMatchingSensitivity": "80"}),
        json!({"signerEmailNotifications": {"envelopeVoided": "false"}}),
        json!({"signerEmailNotifications": {"envelopeDeclined": "false"}}),
        json!({"signerEmailNotifications": {"faxReceived": "false"}}),
    ];
    let writes = changes.iter().map(|body| {
        let (http, url, token, body) = (app.http.clone(), url.clone(), app.admin_token.clone(), body.clone());
        tokio::spawn(async move { http.put(&url).bearer_auth(token).json(&body).send().await.unwrap().status() })
    });
    for w in writes.collect::<Vec<_>>() {
        assert_eq!(w.await.unwrap(), StatusCode::OK);
    }
    let (_, st) = app.get(&url, &app.admin_token).await;
    let signer = &st["signerEmailNotifications"];
    let landed = [
        st["locale"] == "fr",
        st["timezoneOffset"] == "tz_96_yakutsk",
        st["bulkSend"] == "true",
        st["canUseScratchpad"] == "true",
        st["templateMatchingSensitivity"] == "80",
        signer["envelopeVoided"] == "false",
        signer["envelopeDeclined"] == "false",
        signer["faxReceived"] == "false",
    ];
    assert_eq!(landed, [true; 8], "a write was lost: {st}");
}

#[tokio::test]
async fn concurrent_creates_of_one_email_create_it_once() {
    let app = TestApp::spawn().await;
    let creates = (0..8).map(|i| {
        let (http, url, token) = (app.http.clone(), app.ds("/users"), app.admin_token.clone());
        tokio::spawn(async move {
            let body = json!({"newUsers": [{"userName": format!("Racer {i}"), "email": "racer@example.com"}]});
            let r = http.post(&url).bearer_auth(token).json(&body).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["newUsers"][0].clone()
        })
    });
    let mut ok = 0;
    for c in creates.collect::<Vec<_>>() {
        let item = c.await.unwrap();
        match item["errorDetails"]["errorCode"].as_str() {
            None => ok += 1,
            Some(code) => assert_eq!(code, "USER_ALREADY_EXISTS_IN_ACCOUNT", "{item}"),
        }
    }
    assert_eq!(ok, 1);
    let (_, list) = app.get(&app.ds("/users?email=racer@example.com"), &app.admin_token).await;
    assert_eq!(list["totalSetSize"], "1");
}

/// Concurrent writes share a transaction (on SQLite's writer thread, and
/// the member writes on PostgreSQL); one that fails (here: over the custom
/// settings size limit) must be undone alone.
#[tokio::test]
async fn concurrent_writes_that_fail_are_undone_alone() {
    let app = TestApp::spawn().await;
    let mut users = Vec::new();
    for i in 0..24 {
        users.push(app.create_user(&format!("u{i}@example.com"), &format!("U{i}")).await);
    }
    let writes: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let value = if i % 3 == 0 { "x".repeat(5000) } else { format!("v{i}") };
            let body = json!({"customSettings": [{"name": "n", "value": value}]});
            let (http, url, token) =
                (app.http.clone(), app.ds(&format!("/users/{id}/custom_settings")), app.admin_token.clone());
            tokio::spawn(async move { http.put(&url).bearer_auth(token).json(&body).send().await.unwrap().status() })
        })
        .collect();
    for (i, (id, write)) in users.iter().zip(writes).enumerate() {
        check_one_in_three_refused(&app, id, i, write.await.unwrap(), StatusCode::BAD_REQUEST).await;
    }
}

/// User `i`'s custom settings write `n = v{i}`, which every third user's
/// write was to be refused with `refused`, leaving nothing.
async fn check_one_in_three_refused(app: &TestApp, id: &str, i: usize, status: StatusCode, refused: StatusCode) {
    let (_, got) = app.get(&app.ds(&format!("/users/{id}/custom_settings")), &app.admin_token).await;
    if i.is_multiple_of(3) {
        assert_eq!(status, refused, "user {i}");
        assert_eq!(got["customSettings"], json!([]), "user {i}: nothing of the refused write stays");
    } else {
        assert_eq!(status, StatusCode::OK, "user {i}");
        assert_eq!(got["customSettings"], json!([{"name": "n", "value": format!("v{i}")}]), "user {i}");
    }
}

/// On PostgreSQL concurrent member writes commit in one transaction; one that
/// the database refuses (here: a trigger refuses its value) must fail alone,
/// and the others commit. With two connections, one such transaction runs at
/// a time, so the writes that come while it runs go together in the next.
#[tokio::test]
async fn a_member_write_the_database_refuses_fails_alone() {
    use sqlx::Connection as _;
    let Some(db) = TestDb::postgres_only("a trigger makes the database refuse one write").await else { return };
    let app = TestApp::spawn_in(db, PoolConfig { max_connections: 2, ..Default::default() }).await;
    let mut users = Vec::new();
    for i in 0..24 {
        users.push(app.create_user(&format!("u{i}@example.com"), &format!("U{i}")).await);
    }
    let mut admin = sqlx::PgConnection::connect(&app.db.url).await.expect("connect");
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN \
         IF NEW.value = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_boom BEFORE INSERT OR UPDATE ON custom_settings \
         FOR EACH ROW EXECUTE FUNCTION refuse_boom();",
    )
    .execute(&mut admin)
    .await
    .expect("the trigger");
    let put = |url: String, body: Value| {
        let (http, token) = (app.http.clone(), app.admin_token.clone());
        tokio::spawn(async move { http.put(&url).bearer_auth(token).json(&body).send().await.unwrap().status() })
    };
    let writes: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let value = if i % 3 == 0 { "boom".to_owned() } else { format!("v{i}") };
            let custom = json!({"customSettings": [{"name": "n", "value": value}]});
            let custom = put(app.ds(&format!("/users/{id}/custom_settings")), custom);
            (custom, put(app.ds(&format!("/users/{id}/settings")), json!({"locale": "fr"})))
        })
        .collect();
    for (i, (id, (custom, settings))) in users.iter().zip(writes).enumerate() {
        assert_eq!(settings.await.unwrap(), StatusCode::OK, "user {i}'s settings");
        let (_, got) = app.get(&app.ds(&format!("/users/{id}/settings")), &app.admin_token).await;
        assert_eq!(got["locale"], "fr", "user {i}");
        let status = custom.await.unwrap();
        check_one_in_three_refused(&app, id, i, status, StatusCode::INTERNAL_SERVER_ERROR).await;
    }
}

/// A write cut short by the request timeout inside its transaction, after
/// some of its statements ran, is rolled back, and the connection it held
/// serves the next write cleanly. PostgreSQL only: another transaction holds
/// the account's row, which a bulk create updates after inserting its
/// users; the pool has one connection, so the next write gets that one.
#[tokio::test]
async fn a_write_cut_short_inside_its_transaction_is_rolled_back() {
    use sqlx::Connection as _;
    let Some(db) = TestDb::postgres_only("SQLite's writer cannot be held up from outside").await else { return };
    let config = ApiConfig { request_timeout: std::time::Duration::from_secs(1), ..Default::default() };
    let pool = PoolConfig { max_connections: 1, ..Default::default() };
    let app = TestApp::spawn_with(db, pool, config).await;
    let ann = app.create_user("ann@example.com", "Ann").await;

    let mut holder = sqlx::PgConnection::connect(&app.db.url).await.expect("connect");
    let mut held = holder.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM accounts FOR UPDATE").execute(&mut *held).await.expect("lock the accounts");
    let new_users = json!({"newUsers": [
        {"email": "cut1@example.com", "userName": "Cut One"},
        {"email": "cut2@example.com", "userName": "Cut Two"},
    ]});
    let (status, body) = app.post(&app.ds("/users"), &app.admin_token, new_users).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    held.rollback().await.expect("let go");

    let (status, user) =
        app.put(&app.ds(&format!("/users/{ann}")), &app.admin_token, json!({"jobTitle": "Next"})).await;
    assert_eq!((status, &user["jobTitle"]), (StatusCode::OK, &json!("Next")), "{user}");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email LIKE 'cut%'")
        .fetch_one(&mut holder)
        .await
        .expect("count");
    assert_eq!(left, 0, "the cut-short create left nothing, even after the next write on its connection");
}
