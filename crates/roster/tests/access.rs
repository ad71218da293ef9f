//! Authorization: admins, plain members, other accounts, shared identities.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_member_reads_and_updates_only_itself() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("me@example.com", "Me").await;
    let other = app.create_user("other@example.com", "Other").await;

    let (s, mine) = app.get(&app.ds(&format!("/users/{me}")), &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(mine["email"], "me@example.com");
    let (s, mine) = app.put(&app.ds(&format!("/users/{me}")), &token, json!({"firstName": "Myself"})).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(mine["firstName"], "Myself");

    // Another user, a user that does not exist, and garbage all look the same.
    let mut refusals = Vec::new();
    for target in [other.as_str(), "00000000-0000-0000-0000-000000000000", "garbage"] {
        let url = app.ds(&format!("/users/{target}"));
        let (s, read) = app.get(&url, &token).await;
        let (s2, write) = app.put(&url, &token, json!({"firstName": "Hacked"})).await;
        assert_eq!((s, code(&read)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"), "{target}");
        assert_eq!((s2, code(&write)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"), "{target}");
        assert!(!read.to_string().contains("other@example.com"));
        refusals.push((read, write));
    }
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "{refusals:?}");
    let (_, o) = app.get(&app.ds(&format!("/users/{other}")), &app.admin_token).await;
    assert!(o["firstName"].is_null());
}

#[tokio::test]
async fn a_member_cannot_list_create_close_or_raise_its_rights() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("me@example.com", "Me").await;
    let other = app.create_user("other@example.com", "Other").await;
    let denied = |(s, b): (StatusCode, serde_json::Value)| {
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"), "{b}");
    };
    denied(app.get(&app.ds("/users"), &token).await);
    denied(
        app.post(&app.ds("/users"), &token, json!({"newUsers": [{"userName": "X", "email": "x@example.com"}]})).await,
    );
    denied(app.delete(&app.ds("/users"), &token, json!({"users": [{"userId": other}]})).await);
    let me_url = app.ds(&format!("/users/{me}"));
    for raise in [json!({"isAdmin": "true"}), json!({"userStatus": "Disabled"}), json!({"permissionProfileId": "1"})] {
        denied(app.put(&me_url, &token, raise).await);
    }
    // Restating what it already has is not a change.
    let (s, b) = app.put(&me_url, &token, json!({"isAdmin": "false", "userStatus": "Active"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Bulk update: its own item applies, the other user's is refused.
    let (s, b) = app
        .put(
            &app.ds("/users"),
            &token,
            json!({"users": [{"userId": me, "jobTitle": "Dev"}, {"userId": other, "jobTitle": "Dev"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["users"][0]["jobTitle"], "Dev");
    assert_eq!(b["users"][1]["errorDetails"]["errorCode"], "USER_LACKS_PERMISSIONS");
    let (_, mine) = app.get(&me_url, &app.admin_token).await;
    assert_eq!((mine["isAdmin"].as_str(), mine["userStatus"].as_str()), (Some("false"), Some("Active")));
}

#[tokio::test]
async fn another_accounts_token_learns_nothing() {
    let app = TestApp::spawn().await;
    let victim = app.create_user("victim@example.com", "Victim").await;
    let (other_account, other_token, _) = app.other_account("Beta", "beta@example.com").await;
    assert_ne!(other_account, app.account_id);

    let urls = [
        (Method::GET, app.ds("")),
        (Method::GET, app.ds("/users")),
        (Method::GET, app.ds(&format!("/users/{victim}"))),
        (Method::GET, app.ds("/users/00000000-0000-0000-0000-000000000000")),
        (Method::PUT, app.ds(&format!("/users/{victim}"))),
        (Method::POST, app.ds("/users")),
        (Method::PUT, app.ds("/users")),
        (Method::DELETE, app.ds("/users")),
        (Method::GET, app.url(&format!("/v2.1/accounts/{}/users", app.account_guid))),
        (Method::GET, app.url("/v2.1/accounts/999999/users")),
        (Method::GET, app.url("/v2.1/accounts/not-an-account/users")),
    ];
    let mut bodies = Vec::new();
    for (method, url) in urls {
        let body = json!({"users": [{"userId": victim}], "newUsers": [{"userName": "X", "email": "x@example.com"}]});
        let (s, b) = app.call(method.clone(), &url, &other_token, Some(body)).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT"),
            "{method} {url}"
        );
        assert!(!b.to_string().contains("victim"));
        bodies.push(b);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every refusal is the same: {bodies:?}");
    let (_, v) = app.get(&app.ds(&format!("/users/{victim}")), &app.admin_token).await;
    assert_eq!(v["userStatus"], "Active", "the close from the other account did nothing");
    let (_, list) = app.get(&app.ds("/users"), &app.admin_token).await;
    assert_eq!(list["totalSetSize"], "2");
}

#[tokio::test]
async fn site_admin_has_no_rights_in_accounts_it_does_not_belong_to() {
    let app = TestApp::spawn().await; // its admin is the database's first user: the site admin
    let (other_account, _, _) = app.other_account("Beta", "beta@example.com").await;
    let (s, b) = app.get(&app.url(&format!("/restapi/v2.1/accounts/{other_account}/users")), &app.admin_token).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT"));
}

#[tokio::test]
async fn a_shared_identity_is_changed_only_by_its_owner() {
    let app = TestApp::spawn().await;
    let (other_account, other_token, _) = app.other_account("Beta", "beta@example.com").await;
    let (shared, shared_token) = app.member("shared@example.com", "Shared").await;

    // Beta adds the same email: it joins the existing identity, without taking it over.
    let (s, b) = app
        .post(
            &app.url(&format!("/restapi/v2.1/accounts/{other_account}/users")),
            &other_token,
            json!({"newUsers": [{"userName": "Renamed", "email": "SHARED@example.com", "password": "attacker-pass-1"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["newUsers"][0]["userId"], shared.as_str());
    assert_eq!(b["newUsers"][0]["userName"], "Shared");
    assert!(app.login("shared@example.com", "attacker-pass-1").await.is_err());
    assert!(app.login("shared@example.com", PASSWORD).await.is_ok());

    // Neither admin may now change what the other account sees...
    let beta_url = app.url(&format!("/restapi/v2.1/accounts/{other_account}/users/{shared}"));
    for body in
        [json!({"email": "mine@example.com"}), json!({"userName": "Mine"}), json!({"password": "new-password-1"})]
    {
        let (s, e) = app.put(&beta_url, &other_token, body.clone()).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"), "{body}");
        let (s, e) = app.put(&app.ds(&format!("/users/{shared}")), &app.admin_token, body.clone()).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"), "{body}");
    }
    // ...but each still manages its own membership,
    let (s, e) = app.put(&beta_url, &other_token, json!({"userStatus": "Disabled"})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    // and the user changes its own names.
    let (s, me) =
        app.put(&app.ds(&format!("/users/{shared}")), &shared_token, json!({"userName": "Shared Owner"})).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let (_, seen_by_acme) = app.get(&app.ds(&format!("/users/{shared}")), &app.admin_token).await;
    assert_eq!(seen_by_acme["userName"], "Shared Owner");
    assert_eq!(seen_by_acme["userStatus"], "Active", "Beta's status change stays in Beta");
}

#[tokio::test]
async fn an_admin_manages_every_user_of_its_account() {
    let app = TestApp::spawn().await;
    let (ann, ann_token) = app.member("ann@example.com", "Ann").await;
    let (s, u) = app
        .put(
            &app.ds(&format!("/users/{ann}")),
            &app.admin_token,
            json!({"email": "ann2@example.com", "password": "another-pass-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert!(app.login("ann2@example.com", "another-pass-1").await.is_ok());
    assert!(app.login("ann@example.com", PASSWORD).await.is_err());
    // Promote: the member may then list users.
    let (s, _) = app.put(&app.ds(&format!("/users/{ann}")), &app.admin_token, json!({"isAdmin": true})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get(&app.ds("/users"), &ann_token).await.0, StatusCode::OK, "rights follow on the next request");
}
