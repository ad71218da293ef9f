//! The OpenAPI document lists every route, and every route it lists is served.

mod common;

use std::collections::HashSet;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn the_document_describes_every_route_and_each_one_is_served() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["session"]["name"], "AtmoAuthToken_roster");

    let paths = doc["paths"].as_object().unwrap();
    let mut operation_ids = HashSet::new();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            operations += 1;
            assert!(
                operation_ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "unique operationId for {method} {path}"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its responses"
            );
            // Fill the path with placeholders: a served route answers anything but "no such route".
            let concrete = path
                .replace("{accountId}", &app.account_id)
                .replace("{userId}", &app.admin_id)
                .replace("{UserID}", &format!("{}.roster", app.admin_id))
                .replace("{BusinessID}", "tenantbusiness.roster")
                .replace("{permissionProfileId}", "1")
                .replace("{groupId}", "1")
                .replace("{Name}", "com.example.group");
            let resp = app
                .http
                .request(m.clone(), app.url(&concrete))
                .bearer_auth(&app.admin_token)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert!(
                !(status == StatusCode::NOT_FOUND && code(&body) == "RESOURCE_NOT_FOUND")
                    && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not served: {status} {body}"
            );
        }
    }
    // Both DocuSign prefixes, the Akana, OAuth and health routes.
    for must in [
        "/restapi/v2.1/accounts/{accountId}/users",
        "/v2.1/accounts/{accountId}/groups/{groupId}/users",
        "/api/users/{UserID}/settings",
        "/oauth/token",
        "/healthz",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(must), "{must} is documented");
    }
    // 26 DocuSign operations under each of the two prefixes, 11 Akana, 3 OAuth, 3 health and document.
    assert_eq!(operations, 69, "every operation Roster serves");
}
