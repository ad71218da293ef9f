//! The HTTP surface as a whole: prefixes, account ids, routes, health, restarts.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn both_prefixes_and_both_account_id_forms_serve_the_same_api() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let mut seen = Vec::new();
    for prefix in ["/restapi/v2.1", "/v2.1"] {
        for account in [&app.account_id, &app.account_guid] {
            let (s, u) = app.get(&app.url(&format!("{prefix}/accounts/{account}/users/{id}")), &app.admin_token).await;
            assert_eq!(s, StatusCode::OK, "{prefix} {account}");
            seen.push(u["email"].clone());
        }
    }
    assert!(seen.iter().all(|e| e == "ann@example.com"));
    let (s, created) = app
        .post(
            &app.url(&format!("/v2.1/accounts/{}/users", app.account_guid)),
            &app.admin_token,
            json!({"newUsers": [{"userName": "B", "email": "b@example.com"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
}

#[tokio::test]
async fn account_information() {
    let app = TestApp::spawn().await;
    let (_, token) = app.member("ann@example.com", "Ann").await;
    for t in [&app.admin_token, &token] {
        let (s, a) = app.get(&app.ds(""), t).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(a["accountId"], app.account_id.as_str());
        assert_eq!(a["accountIdGuid"], app.account_guid.as_str());
        assert_eq!(a["accountName"], "Acme");
        assert!(a["createdDate"].as_str().unwrap().ends_with('Z'));
        assert_eq!(a["useDisplayAppliance"], false);
        assert_eq!(a["canUpgrade"], "false");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = TestApp::spawn().await;
    let (s, b) = app.get(&app.url("/restapi/v2.1/nothing/here"), &app.admin_token).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND"));
    let (s, b) = app.call(reqwest::Method::PATCH, &app.ds("/users"), &app.admin_token, None).await;
    assert_eq!((s, code(&b)), (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"), "every response carries its request id");
}

#[tokio::test]
async fn a_delete_without_a_body_is_read_as_empty() {
    let app = TestApp::spawn().await;
    let r = app.http.delete(app.ds("/users")).bearer_auth(&app.admin_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&b), "INVALID_REQUEST_PARAMETER");
    assert!(b["message"].as_str().unwrap().contains("users"));
}

#[tokio::test]
async fn data_survives_a_restart() {
    let mut app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    app.put(&app.ds(&format!("/users/{id}")), &app.admin_token, json!({"jobTitle": "CTO"})).await;
    app.restart().await;
    let (s, u) = app.get(&app.ds(&format!("/users/{id}")), &app.admin_token).await;
    assert_eq!(s, StatusCode::OK, "the token survived too: {u}");
    assert_eq!(u["jobTitle"], "CTO");
    assert!(app.login("ann@example.com", PASSWORD).await.is_ok());
}
