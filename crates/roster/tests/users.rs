//! The DocuSign v2.1 Users API: create, list, get, update, bulk update, close.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn create_answers_201_with_a_new_user_per_input_and_per_item_errors() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([
            {"userName": "Ann Lee", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
            {"userName": "No Email"},
            {"email": "noname@example.com"},
            {"userName": "Bad", "email": "not-an-email"},
            {"userName": "Ann Again", "email": "ANN@example.com"},
            {"userName": "x".repeat(51), "email": "long@example.com"},
            {"userName": "Status", "email": "status@example.com", "userStatus": "Sleeping"},
            {"userName": "Profile", "email": "profile@example.com", "permissionProfileId": "999999"},
        ]))
        .await;
    assert_eq!(created.len(), 8);
    let ann = &created[0];
    assert!(ann["errorDetails"].is_null(), "{ann}");
    assert_eq!(ann["userName"], "Ann Lee");
    assert_eq!(ann["email"], "ann@example.com");
    assert_eq!(ann["userStatus"], "ActivationSent");
    assert_eq!(ann["permissionProfileName"], "DocuSign Sender");
    assert!(ann["permissionProfileId"].is_string());
    assert!(ann["membershipId"].is_string());
    let id = ann["userId"].as_str().unwrap();
    assert_eq!(ann["uri"], format!("/users/{id}"));
    assert_date(&ann["createdDateTime"]);

    let expect = [
        (1, "INVALID_REQUEST_PARAMETER", "email"),
        (2, "INVALID_REQUEST_PARAMETER", "userName"),
        (3, "INVALID_EMAIL_ADDRESS_FOR_USER", "email"),
        (4, "USER_ALREADY_EXISTS_IN_ACCOUNT", ""),
        (5, "INVALID_REQUEST_PARAMETER", "userName"),
        (6, "INVALID_REQUEST_PARAMETER", "userStatus"),
        (7, "PERMISSION_PROFILE_DOES_NOT_EXIST", ""),
    ];
    for (i, want_code, field) in expect {
        let item = &created[i];
        assert_eq!(item["errorDetails"]["errorCode"], want_code, "item {i}: {item}");
        assert!(item["errorDetails"]["message"].as_str().unwrap().contains(field), "item {i}: {item}");
        assert!(item["userId"].is_null(), "item {i}: {item}");
        assert_eq!(item["createdDateTime"], "0001-01-01T08:00:00.0000000Z");
    }
    assert_eq!(created[3]["email"], "not-an-email", "failed items echo their input");

    // Only Ann (and the admin) exist: nothing of the failed items was stored.
    let (_, list) = app.get(&app.ds("/users"), &app.admin_token).await;
    assert_eq!(list["totalSetSize"], "2");
}

#[tokio::test]
async fn create_takes_string_and_json_booleans_and_ignores_unknown_fields() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([
            {"userName": "A", "email": "a@example.com", "isAdmin": "True", "someFutureField": {"x": 1}},
            {"userName": "B", "email": "b@example.com", "isAdmin": true},
            {"userName": "C", "email": "c@example.com", "isAdmin": "false"},
        ]))
        .await;
    assert_eq!(created[0]["permissionProfileName"], "Account Administrator");
    assert_eq!(created[1]["permissionProfileName"], "Account Administrator");
    assert_eq!(created[2]["permissionProfileName"], "DocuSign Sender");
    let (_, a) =
        app.get(&app.ds(&format!("/users/{}", created[0]["userId"].as_str().unwrap())), &app.admin_token).await;
    assert_eq!(a["isAdmin"], "true");
}

#[tokio::test]
async fn create_refuses_requests_that_are_wrong_as_a_whole() {
    let app = TestApp::spawn().await;
    let url = app.ds("/users");
    let (s, b) = app.post(&url, &app.admin_token, json!({})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"));
    assert!(b["message"].as_str().unwrap().contains("newUsers"));

    let many: Vec<Value> =
        (0..501).map(|i| json!({"userName": format!("U{i}"), "email": format!("u{i}@example.com")})).collect();
    let (s, b) = app.post(&url, &app.admin_token, json!({ "newUsers": many })).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"));
    assert!(b["message"].as_str().unwrap().contains("500"), "{b}");

    let (s, b) = app
        .post(
            &url,
            &app.admin_token,
            json!({"newUsers": [{"userName": "N", "email": "n@example.com", "firstName": 5}]}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY"));
    assert!(b["message"].as_str().unwrap().contains("newUsers[0].firstName"), "{b}");

    let (s, b) = app.post(&url, &app.admin_token, json!({"newUsers": {"userName": "N"}})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY"));

    let r = app
        .http
        .post(&url)
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(r#"{"newUsers": [{"userName": "N",}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&r.json().await.unwrap()), "INVALID_REQUEST_BODY");

    let r = app.http.post(&url).bearer_auth(&app.admin_token).body(r#"{"newUsers": []}"#).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code(&r.json().await.unwrap()), "INVALID_CONTENT_TYPE");

    let big = format!(r#"{{"newUsers": [{{"userName": "{}", "email": "big@example.com"}}]}}"#, "x".repeat(1024 * 1024));
    let r = app
        .http
        .post(&url)
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&r.json().await.unwrap()), "REQUEST_ENTITY_TOO_LARGE");

    let (_, list) = app.get(&url, &app.admin_token).await;
    assert_eq!(list["totalSetSize"], "1", "nothing was created: {list}");
}

#[tokio::test]
async fn a_user_with_a_password_can_log_in() {
    let app = TestApp::spawn().await;
    let created = app.create_users(json!([{"userName": "P", "email": "p@example.com", "password": PASSWORD}])).await;
    assert_eq!(created[0]["userStatus"], "Active");
    assert!(app.login("p@example.com", PASSWORD).await.is_ok());
    let created = app.create_users(json!([{"userName": "Q", "email": "q@example.com", "password": "short"}])).await;
    assert_eq!(created[0]["errorDetails"]["errorCode"], "INVALID_REQUEST_PARAMETER");
    assert!(created[0]["errorDetails"]["message"].as_str().unwrap().contains("password"));
}

#[tokio::test]
async fn get_returns_user_information_with_string_typed_fields() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([{"userName": "Ann Lee", "email": "ann@example.com", "firstName": "Ann", "jobTitle": "CTO",
            "workAddress": {"city": "Lyon", "country": "FR"}}]))
        .await;
    let id = created[0]["userId"].as_str().unwrap();
    let (status, user) = app.get(&app.ds(&format!("/users/{id}")), &app.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["userId"], id);
    assert_eq!(user["firstName"], "Ann");
    assert_eq!(user["jobTitle"], "CTO");
    assert_eq!(user["workAddress"]["city"], "Lyon");
    assert_eq!(user["isAdmin"], "false");
    assert_eq!(user["isNAREnabled"], "false");
    assert_eq!(user["hasRemoteNotary"], false, "one of the spec's real booleans");
    assert_eq!(user["userType"], "CompanyUser");
    assert!(user["permissionProfileId"].is_string());
    assert_date(&user["createdDateTime"]);
    assert!(user.get("password").is_none());
}

/// A bulk create writes all its users with one statement per table (on
/// PostgreSQL one array per column): each user keeps its own values, and
/// what one user leaves out stays empty for it alone.
#[tokio::test]
async fn a_bulk_create_stores_each_users_own_fields() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([
            {"userName": "Ann Lee", "email": "ann@example.com", "firstName": "Ann", "company": "Acme",
             "customSettings": [{"name": "team", "value": "blue"}, {"name": "floor", "value": "3"}]},
            {"userName": "Bob", "email": "bob@example.com", "jobTitle": "CFO", "isAdmin": "true",
             "userSettings": {"locale": "fr"}},
            {"userName": "Cy", "email": "cy@example.com", "lastName": "Young",
             "customSettings": [{"name": "team", "value": "red"}]},
        ]))
        .await;
    let mut users = Vec::new();
    for item in &created {
        assert!(item["errorDetails"].is_null(), "{item}");
        let id = item["userId"].as_str().unwrap();
        let (status, user) = app.get(&app.ds(&format!("/users/{id}?additional_info=true")), &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        users.push(user);
    }
    let [ann, bob, cy] = &users[..] else { unreachable!() };
    assert_eq!(
        (&ann["userName"], &ann["firstName"], &ann["company"]),
        (&json!("Ann Lee"), &json!("Ann"), &json!("Acme"))
    );
    assert_eq!(ann["customSettings"], json!([{"name": "team", "value": "blue"}, {"name": "floor", "value": "3"}]));
    assert_eq!(
        (&bob["email"], &bob["jobTitle"], &bob["isAdmin"]),
        (&json!("bob@example.com"), &json!("CFO"), &json!("true"))
    );
    assert_eq!(bob["userSettings"]["locale"], "fr");
    assert_eq!(cy["lastName"], "Young");
    assert_eq!(cy["customSettings"], json!([{"name": "team", "value": "red"}]));
    for (user, absent) in
        [(ann, ["jobTitle", "lastName"]), (bob, ["firstName", "company"]), (cy, ["firstName", "jobTitle"])]
    {
        for field in absent {
            assert!(user[field].is_null() || user[field] == "", "{field} of {}: {user}", user["userName"]);
        }
    }
    assert_ne!(ann["userSettings"]["locale"], "fr", "Bob's settings are his own");
    assert_eq!(bob["customSettings"], json!([]), "{bob}");
}

#[tokio::test]
async fn get_refuses_unknown_and_malformed_user_ids() {
    let app = TestApp::spawn().await;
    for id in ["00000000-0000-0000-0000-000000000000", "not-a-guid", "1%27%20OR%201=1", "..%2F..%2Fetc"] {
        let (status, body) = app.get(&app.ds(&format!("/users/{id}")), &app.admin_token).await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "INVALID_USERID"), "{id}");
    }
}

#[tokio::test]
async fn put_merges_absent_fields_unchanged() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([{"userName": "Ann Lee", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee", "company": "Acme"}]))
        .await;
    let id = created[0]["userId"].as_str().unwrap();
    let url = app.ds(&format!("/users/{id}"));
    let (status, user) = app.put(&url, &app.admin_token, json!({"lastName": "Smith", "jobTitle": "CFO"})).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["lastName"], "Smith");
    assert_eq!(user["jobTitle"], "CFO");
    assert_eq!(user["firstName"], "Ann");
    assert_eq!(user["company"], "Acme");
    assert_eq!(user["userName"], "Ann Lee");
    let (_, again) = app.get(&url, &app.admin_token).await;
    assert_eq!(again["lastName"], "Smith");
    assert_eq!(again["company"], "Acme");
    // An empty string clears an optional field.
    let (_, user) = app.put(&url, &app.admin_token, json!({"company": ""})).await;
    assert!(user["company"].is_null(), "{user}");
}

#[tokio::test]
async fn put_validates_and_changes_nothing_on_error() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    app.create_user("bob@example.com", "Bob").await;
    let url = app.ds(&format!("/users/{id}"));
    let cases = [
        (json!({"firstName": "x".repeat(51), "lastName": "Changed"}), "INVALID_REQUEST_PARAMETER", "firstName"),
        (json!({"userStatus": "Sleeping", "lastName": "Changed"}), "INVALID_REQUEST_PARAMETER", "userStatus"),
        (json!({"email": "nope", "lastName": "Changed"}), "INVALID_EMAIL_ADDRESS_FOR_USER", "email"),
        (json!({"email": "BOB@example.com", "lastName": "Changed"}), "EMAIL_ALREADY_IN_USE", "BOB@example.com"),
        (json!({"userId": app.admin_id, "lastName": "Changed"}), "INVALID_REQUEST_PARAMETER", "userId"),
        (
            json!({"permissionProfileId": "424242", "lastName": "Changed"}),
            "PERMISSION_PROFILE_DOES_NOT_EXIST",
            "424242",
        ),
    ];
    for (body, want, field) in cases {
        let (status, err) = app.put(&url, &app.admin_token, body.clone()).await;
        assert_eq!((status, code(&err)), (StatusCode::BAD_REQUEST, want), "{body}: {err}");
        assert!(err["message"].as_str().unwrap().contains(field), "{body}: {err}");
    }
    let (_, user) = app.get(&url, &app.admin_token).await;
    assert!(user["lastName"].is_null(), "nothing changed: {user}");
    assert_eq!(user["email"], "ann@example.com");
}

#[tokio::test]
async fn bulk_update_applies_good_items_and_reports_bad_ones() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let bob = app.create_user("bob@example.com", "Bob").await;
    let body = json!({"users": [
        {"userId": ann, "jobTitle": "CEO"},
        {"userId": bob, "email": "invalid", "jobTitle": "Never"},
        {"userId": "00000000-0000-0000-0000-000000000000", "jobTitle": "Ghost"},
        {"jobTitle": "No id"},
        {"userId": bob, "userStatus": "Disabled"},
    ]});
    let (status, resp) =
        app.put(&format!("{}?allow_all_languages=true", app.ds("/users")), &app.admin_token, body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let users = resp["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(users[0]["jobTitle"], "CEO");
    assert!(users[0]["errorDetails"].is_null());
    assert_eq!(users[1]["errorDetails"]["errorCode"], "INVALID_EMAIL_ADDRESS_FOR_USER");
    assert_eq!(users[1]["userId"], bob.as_str());
    assert_eq!(users[2]["errorDetails"]["errorCode"], "INVALID_USERID");
    assert_eq!(users[3]["errorDetails"]["errorCode"], "INVALID_REQUEST_PARAMETER");
    assert_eq!(users[4]["userStatus"], "Disabled");
    let (_, b) = app.get(&app.ds(&format!("/users/{bob}")), &app.admin_token).await;
    assert!(b["jobTitle"].is_null(), "the failed item changed nothing: {b}");
    assert_eq!(b["email"], "bob@example.com");
}

/// A bulk update runs in one piece when every item succeeds (its writes may
/// be sent together, after every member was read), and item by item when one
/// fails, even one refused only by the database (an email taken): either way
/// each item's answer is what a read shows afterwards.
#[tokio::test]
async fn a_bulk_update_answers_what_reads_show_and_one_late_failure_stays_alone() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let bob = app.create_user("bob@example.com", "Bob").await;
    let cat = app.create_user("cat@example.com", "Cat").await;

    let users = bulk_update(
        &app,
        json!([
            {"userId": ann, "jobTitle": "CEO"},
            {"userId": bob, "lastName": "Stone", "company": "Acme"},
            {"userId": ann, "lastName": "Lee"},
        ]),
    )
    .await;
    assert!(users.iter().all(|u| u["errorDetails"].is_null()), "{users:?}");
    assert_eq!(
        (&users[2]["jobTitle"], &users[2]["lastName"]),
        (&json!("CEO"), &json!("Lee")),
        "a user named twice: {users:?}"
    );
    assert_reads_show(&app, &[(&users[1], &bob), (&users[2], &ann)]).await;

    let users = bulk_update(
        &app,
        json!([
            {"userId": cat, "jobTitle": "CTO"},
            {"userId": bob, "email": "ANN@example.com", "jobTitle": "Never"},
            {"userId": ann, "jobTitle": "Chair"},
        ]),
    )
    .await;
    assert_eq!(users[1]["errorDetails"]["errorCode"], "EMAIL_ALREADY_IN_USE", "{users:?}");
    assert_eq!((&users[0]["jobTitle"], &users[2]["jobTitle"]), (&json!("CTO"), &json!("Chair")), "{users:?}");
    let (_, b) = app.get(&app.ds(&format!("/users/{bob}")), &app.admin_token).await;
    assert_eq!(
        (&b["email"], &b["jobTitle"]),
        (&json!("bob@example.com"), &json!(null)),
        "the refused item changed nothing: {b}"
    );
    assert_reads_show(&app, &[(&users[0], &cat), (&users[2], &ann)]).await;
}

/// A bulk update writes each changed identity once, at its end (on
/// PostgreSQL, all of them in one statement): a user named twice keeps what
/// both items changed, the first item's new password too.
#[tokio::test]
async fn a_user_named_twice_in_a_bulk_update_keeps_both_items_changes() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let bob = app.create_user("bob@example.com", "Bob").await;
    let users = bulk_update(
        &app,
        json!([
            {"userId": ann, "password": "a-new-password-2", "jobTitle": "CEO"},
            {"userId": bob, "firstName": "Robert"},
            {"userId": ann, "lastName": "Lee"},
        ]),
    )
    .await;
    assert!(users.iter().all(|u| u["errorDetails"].is_null()), "{users:?}");
    assert_reads_show(&app, &[(&users[1], &bob), (&users[2], &ann)]).await;
    assert!(app.login("ann@example.com", "a-new-password-2").await.is_ok(), "the first item's password was kept");
    assert!(app.login("ann@example.com", PASSWORD).await.is_err(), "the old password is gone");
}

/// The answer of a bulk update, item by item (the call itself succeeds).
async fn bulk_update(app: &TestApp, users: Value) -> Vec<Value> {
    let (status, resp) = app.put(&app.ds("/users"), &app.admin_token, json!({ "users": users })).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    resp["users"].as_array().unwrap().clone()
}

/// Each answered user's fields are what a read of that user shows now.
async fn assert_reads_show(app: &TestApp, answered: &[(&Value, &String)]) {
    for (answer, id) in answered {
        let (_, now) = app.get(&app.ds(&format!("/users/{id}")), &app.admin_token).await;
        for field in ["email", "userName", "firstName", "lastName", "jobTitle", "userStatus"] {
            assert_eq!(answer[field], now[field], "{field}: answered {answer}, read {now}");
        }
    }
}

#[tokio::test]
async fn close_marks_users_closed_with_per_item_errors() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let body =
        json!({"users": [{"userId": ann}, {"userId": "00000000-0000-0000-0000-000000000000"}, {"userId": "garbage"}]});
    let (status, resp) = app.delete(&format!("{}?delete=Groups", app.ds("/users")), &app.admin_token, body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let users = resp["users"].as_array().unwrap();
    assert_eq!(users[0]["userStatus"], "Closed");
    assert_eq!(users[0]["userId"], ann.as_str());
    assert_eq!(users[1]["errorDetails"]["errorCode"], "INVALID_USERID");
    assert_eq!(users[2]["errorDetails"]["errorCode"], "INVALID_USERID");
    // Closed users stay, visible with their status.
    let (_, user) = app.get(&app.ds(&format!("/users/{ann}")), &app.admin_token).await;
    assert_eq!(user["userStatus"], "Closed");
    let (_, closed) = app.get(&app.ds("/users?status=Closed"), &app.admin_token).await;
    assert_eq!(closed["totalSetSize"], "1");
    // A closed user can be reopened by an admin.
    let (_, user) = app.put(&app.ds(&format!("/users/{ann}")), &app.admin_token, json!({"userStatus": "Active"})).await;
    assert_eq!(user["userStatus"], "Active");
}

#[tokio::test]
async fn the_last_administrator_cannot_be_closed_or_demoted() {
    let app = TestApp::spawn().await;
    let me = app.admin_id.clone();
    let (s, resp) = app.delete(&app.ds("/users"), &app.admin_token, json!({"users": [{"userId": me}]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(resp["users"][0]["errorDetails"]["errorCode"], "CANNOT_REMOVE_LAST_ADMINISTRATOR");
    let (s, err) = app.put(&app.ds(&format!("/users/{me}")), &app.admin_token, json!({"isAdmin": "false"})).await;
    assert_eq!((s, code(&err)), (StatusCode::BAD_REQUEST, "CANNOT_REMOVE_LAST_ADMINISTRATOR"));
    // With a second admin, the first may step down.
    app.create_users(json!([{"userName": "Second", "email": "second@example.com", "isAdmin": "true"}])).await;
    let (s, user) = app.put(&app.ds(&format!("/users/{me}")), &app.admin_token, json!({"isAdmin": "false"})).await;
    assert_eq!(s, StatusCode::OK, "{user}");
    assert_eq!(user["isAdmin"], "false");
    assert_eq!(user["permissionProfileName"], "DocuSign Sender");
}

#[tokio::test]
async fn list_pages_with_string_counts_and_relative_links() {
    let app = TestApp::spawn().await;
    let users: Vec<Value> =
        (0..5).map(|i| json!({"userName": format!("User {i}"), "email": format!("user{i}@example.com")})).collect();
    app.create_users(Value::Array(users)).await; // 6 members with the admin

    let (_, first) = app.get(&app.ds("/users?count=2"), &app.admin_token).await;
    assert_eq!(first["resultSetSize"], "2");
    assert_eq!(first["totalSetSize"], "6");
    assert_eq!(first["startPosition"], "0");
    assert_eq!(first["endPosition"], "1");
    assert_eq!(first["nextUri"], format!("/accounts/{}/users?start_position=2&count=2", app.account_id));
    assert!(first.get("previousUri").is_none());
    assert_eq!(first["users"][0]["email"], ADMIN_EMAIL, "oldest first");

    // Following nextUri walks every user once, in a stable order, ending on an exact multiple.
    let mut seen = Vec::new();
    let mut next = Some(format!("/accounts/{}/users?count=2", app.account_id));
    while let Some(uri) = next {
        let (status, page) = app.get(&app.url(&format!("/restapi/v2.1{uri}")), &app.admin_token).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(page["users"].as_array().unwrap().iter().map(|u| u["userId"].as_str().unwrap().to_owned()));
        next = page["nextUri"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 6);
    seen.dedup();
    assert_eq!(seen.len(), 6);

    let (_, last) = app.get(&app.ds("/users?count=4&start_position=4"), &app.admin_token).await;
    assert_eq!(last["resultSetSize"], "2");
    assert_eq!(last["endPosition"], "5");
    assert!(last.get("nextUri").is_none());
    assert_eq!(last["previousUri"], format!("/accounts/{}/users?start_position=0&count=4", app.account_id));

    let (_, beyond) = app.get(&app.ds("/users?start_position=50"), &app.admin_token).await;
    assert_eq!(beyond["resultSetSize"], "0");
    assert_eq!(beyond["totalSetSize"], "6");
    assert_eq!(beyond["users"], json!([]));

    let (_, none) = app.get(&app.ds("/users?email=nobody@example.com"), &app.admin_token).await;
    assert_eq!((none["resultSetSize"].as_str(), none["totalSetSize"].as_str()), (Some("0"), Some("0")));
    assert_eq!(none["users"], json!([]));
}

#[tokio::test]
async fn list_filters() {
    let app = TestApp::spawn().await;
    app.create_users(json!([
        {"userName": "Alice Martin", "email": "alice@corp.example"},
        {"userName": "Bob Stone", "email": "bob@corp.example"},
        {"userName": "Carol 100%_done", "email": "carol@home.example"},
    ]))
    .await;
    let emails = |v: &Value| -> Vec<String> {
        v["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
    };
    let (_, r) = app.get(&app.ds("/users?email=BOB@corp.example"), &app.admin_token).await;
    assert_eq!(emails(&r), ["bob@corp.example"]);
    let (_, r) = app.get(&app.ds("/users?email_substring=CORP"), &app.admin_token).await;
    assert_eq!(emails(&r), ["alice@corp.example", "bob@corp.example"]);
    let (_, r) = app.get(&app.ds("/users?user_name_substring=stone"), &app.admin_token).await;
    assert_eq!(emails(&r), ["bob@corp.example"]);
    let (_, r) = app.get(&app.ds("/users?user_name_substring=0%25_"), &app.admin_token).await;
    assert_eq!(emails(&r), ["carol@home.example"], "LIKE wildcards are taken literally");
    let (_, r) = app.get(&app.ds("/users?user_name_substring=%25"), &app.admin_token).await;
    assert_eq!(emails(&r), ["carol@home.example"]);
    let (_, r) = app.get(&app.ds("/users?status=Active"), &app.admin_token).await;
    assert_eq!(emails(&r), [ADMIN_EMAIL]);
    let (_, r) = app.get(&app.ds("/users?status=ActivationSent,Active&count=1"), &app.admin_token).await;
    assert_eq!(r["totalSetSize"], "4");
    assert!(r["nextUri"].as_str().unwrap().contains("status=ActivationSent%2CActive"), "{r}");
    let (_, r) = app.get(&app.ds("/users?additional_info=True&email_substring=alice"), &app.admin_token).await;
    assert_eq!(emails(&r), ["alice@corp.example"]);
}

#[tokio::test]
async fn list_refuses_bad_parameters() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("count=0", "count"),
        ("count=101", "count"),
        ("count=ten", "count"),
        ("start_position=-1", "start_position"),
        ("status=Sleeping", "status"),
        ("email=a@b.c&email_substring=a", "email_substring"),
    ] {
        let (status, body) = app.get(&app.ds(&format!("/users?{query}")), &app.admin_token).await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"), "{query}");
        assert!(body["message"].as_str().unwrap().contains(field), "{query}: {body}");
    }
    let (status, body) = app.get(&app.ds("/users?count=100"), &app.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn assert_date(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a date: {v}"));
    // 2020-05-26T23:25:30.7330000Z
    assert_eq!(s.len(), 28, "{s}");
    assert!(s.ends_with('Z') && &s[10..11] == "T" && &s[19..20] == ".", "{s}");
}
