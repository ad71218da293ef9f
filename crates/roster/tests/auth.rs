//! OAuth password grant, revocation, userinfo, and what an access token must be.

mod common;

use common::*;
use reqwest::StatusCode;
use roster_api::auth::issue_token;
use serde_json::{json, Value};

#[tokio::test]
async fn password_grant_issues_a_bearer_token_that_works() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "password"), ("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 8 * 3600);
    let token = body["access_token"].as_str().unwrap();
    let (status, users) = app.get(&app.ds("/users"), token).await;
    assert_eq!(status, StatusCode::OK, "{users}");
}

#[tokio::test]
async fn bad_credentials_are_refused_without_saying_which_part_was_wrong() {
    let app = TestApp::spawn().await;
    let (s1, wrong_password) = app.login(ADMIN_EMAIL, "not-the-password").await.unwrap_err();
    let (s2, unknown_email) = app.login("nobody@example.com", "not-the-password").await.unwrap_err();
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(code(&wrong_password), "USER_AUTHENTICATION_FAILED");
    assert_eq!(wrong_password["error"], "invalid_grant");
    assert_eq!(wrong_password, unknown_email);
}

#[tokio::test]
async fn the_token_endpoint_checks_its_request() {
    let app = TestApp::spawn().await;
    let post = |form: Vec<(&'static str, &'static str)>| app.http.post(app.url("/oauth/token")).form(&form).send();
    let r = post(vec![("grant_type", "client_credentials")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unsupported_grant_type");
    let r = post(vec![("grant_type", "password"), ("username", ADMIN_EMAIL)]).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .json(&json!({"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn missing_malformed_expired_and_revoked_tokens_get_401() {
    let app = TestApp::spawn().await;
    let users = app.ds("/users");

    let r = app.http.get(&users).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&r.json().await.unwrap()), "AUTHORIZATION_INVALID_TOKEN");

    for header in ["Bearer", "Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", &"x".repeat(600)] {
        let r = app.http.get(&users).header("Authorization", header).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(code(&r.json().await.unwrap()), "AUTHORIZATION_INVALID_TOKEN");
    }

    let admin: roster_domain::ids::UserId = app.admin_id.parse().unwrap();
    let expired = issue_token(&app.store, admin, -1).await.unwrap();
    let (status, body) = app.get(&users, &expired).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "AUTHORIZATION_INVALID_TOKEN"));

    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    assert_eq!(app.get(&users, &token).await.0, StatusCode::OK);
    let r = app.http.post(app.url("/oauth/revoke")).form(&[("token", token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, body) = app.get(&users, &token).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "AUTHORIZATION_INVALID_TOKEN"));
    // Revoking twice, or an unknown token, is fine (RFC 7009).
    let r = app.http.post(app.url("/oauth/revoke")).form(&[("token", token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The original token still works: revocation is per token.
    assert_eq!(app.get(&users, &app.admin_token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_bare_token_the_python_sdk_sends_is_accepted() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.ds("/users")).header("Authorization", &app.admin_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn userinfo_has_docusigns_shape() {
    let app = TestApp::spawn().await;
    app.other_account("Beta", "beta-admin@example.com").await;
    let (status, info) = app.get(&app.url("/oauth/userinfo"), &app.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["sub"], app.admin_id.as_str());
    assert_eq!(info["email"], ADMIN_EMAIL);
    assert_eq!(info["name"], "admin");
    let accounts = info["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "only the caller's own accounts: {info}");
    assert_eq!(accounts[0]["account_id"], app.account_guid.as_str());
    assert_eq!(accounts[0]["account_name"], "Acme");
    assert_eq!(accounts[0]["is_default"], "true");
    assert_eq!(accounts[0]["base_uri"], app.base.as_str());
    assert_eq!(app.get(&app.url("/oauth/userinfo"), "nope").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn passwords_never_appear_in_responses() {
    let app = TestApp::spawn().await;
    let id = app.create_user("pw@example.com", "Pw").await;
    let (_, user) = app.get(&app.ds(&format!("/users/{id}")), &app.admin_token).await;
    let (_, list) = app.get(&app.ds("/users"), &app.admin_token).await;
    for body in [user, list] {
        let text = body.to_string();
        assert!(!text.contains(PASSWORD) && !text.contains("argon2") && !text.contains("password"), "{text}");
    }
}

#[tokio::test]
async fn closed_users_cannot_authenticate() {
    let app = TestApp::spawn().await;
    let (id, token) = app.member("leaver@example.com", "Leaver").await;
    let (status, body) = app.delete(&app.ds("/users"), &app.admin_token, json!({"users": [{"userId": id}]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["users"][0]["userStatus"], "Closed");
    let (status, body) = app.login("leaver@example.com", PASSWORD).await.unwrap_err();
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "USER_AUTHENTICATION_FAILED"));
    // A token issued before the close no longer opens the account.
    let (status, body) = app.get(&app.ds(&format!("/users/{id}")), &token).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT"));
}
