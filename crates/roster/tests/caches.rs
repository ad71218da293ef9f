//! The read caches (SQLite) never serve a document older than a write that
//! was answered before the read: a write through one endpoint shows in the
//! cached documents of the others.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_write_anywhere_shows_in_documents_read_before_it() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let user = app.ds(&format!("/users/{ann}"));
    let settings = app.ds(&format!("/users/{ann}/settings"));

    // Read (and so cache) the user and its settings, twice to be sure.
    for _ in 0..2 {
        let (_, u) = app.get(&user, &app.admin_token).await;
        assert!(!u["groupList"].as_array().unwrap().iter().any(|g| g["groupName"] == "Sales"));
        let (_, s) = app.get(&settings, &app.admin_token).await;
        assert_ne!(s["locale"], "fr");
    }

    // A group membership changes the user document.
    let (_, g) = app.post(&app.ds("/groups"), &app.admin_token, json!({"groups": [{"groupName": "Sales"}]})).await;
    let sales = g["groups"][0]["groupId"].as_str().unwrap().to_owned();
    let (status, _) = app
        .put(&app.ds(&format!("/groups/{sales}/users")), &app.admin_token, json!({"users": [{"userId": ann}]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, u) = app.get(&user, &app.admin_token).await;
    assert!(u["groupList"].as_array().unwrap().iter().any(|g| g["groupName"] == "Sales"), "{u}");

    // A bulk update changes the settings document.
    let (status, _) = app
        .put(&app.ds("/users"), &app.admin_token, json!({"users": [{"userId": ann, "userSettings": {"locale": "fr"}}]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = app.get(&settings, &app.admin_token).await;
    assert_eq!(s["locale"], "fr");

    // A closed user can no longer act, even right after a cached call.
    let (bob, bob_token) = app.member("bob@example.com", "Bob").await;
    let own = app.ds(&format!("/users/{bob}"));
    assert_eq!(app.get(&own, &bob_token).await.0, StatusCode::OK);
    let (status, _) = app.delete(&app.ds("/users"), &app.admin_token, json!({"users": [{"userId": bob}]})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get(&own, &bob_token).await;
    assert_ne!(status, StatusCode::OK, "{body}");
}
