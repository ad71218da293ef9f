//! Permission profiles, and authorization that follows them.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn profiles(app: &TestApp, include: &str) -> Vec<Value> {
    let (s, b) = app.get(&app.ds(&format!("/permission_profiles{include}")), &app.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["permissionProfiles"].as_array().unwrap().clone()
}

fn id_of(list: &[Value], name: &str) -> String {
    list.iter().find(|p| p["permissionProfileName"] == name).unwrap()["permissionProfileId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create_profile(app: &TestApp, body: Value) -> String {
    let (s, p) = app.post(&app.ds("/permission_profiles"), &app.admin_token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    p["permissionProfileId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_account_starts_with_three_profiles_in_order() {
    let app = TestApp::spawn().await;
    let list = profiles(&app, "").await;
    let names: Vec<&str> = list.iter().map(|p| p["permissionProfileName"].as_str().unwrap()).collect();
    assert_eq!(names, ["Account Administrator", "DocuSign Sender", "DocuSign Viewer"]);
    let ids: Vec<i64> = list.iter().map(|p| p["permissionProfileId"].as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(ids, [ids[0], ids[0] + 1, ids[0] + 2], "consecutive numeric string ids");
    assert!(
        list.iter().all(|p| p.get("settings").is_none() && p.get("userCount").is_none()),
        "no includes, no settings"
    );
    assert!(list[0]["modifiedDateTime"].as_str().unwrap().ends_with('Z'));
    let (_, admin) = app.get(&app.ds(&format!("/users/{}", app.admin_id)), &app.admin_token).await;
    assert_eq!(
        (admin["permissionProfileName"].as_str(), admin["isAdmin"].as_str()),
        (Some("Account Administrator"), Some("true"))
    );
    let id = app.create_user("ann@example.com", "Ann").await;
    let (_, ann) = app.get(&app.ds(&format!("/users/{id}")), &app.admin_token).await;
    assert_eq!(
        (ann["permissionProfileName"].as_str(), ann["isAdmin"].as_str()),
        (Some("DocuSign Sender"), Some("false"))
    );
    // Beta's defaults are its own.
    let (beta, token, _) = app.other_account("Beta", "beta@example.com").await;
    let (_, b) = app.get(&app.url(&format!("/v2.1/accounts/{beta}/permission_profiles")), &token).await;
    assert_ne!(b["permissionProfiles"][0]["permissionProfileId"], list[0]["permissionProfileId"]);
}

#[tokio::test]
async fn includes_on_the_list() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    app.create_user("bob@example.com", "Bob").await;
    app.delete(&app.ds("/users"), &app.admin_token, json!({"users": [{"userId": ann}]})).await;

    let list = profiles(&app, "?include=user_count").await;
    assert_eq!(list[1]["userCount"], "1", "Bob; Ann is closed");
    assert_eq!(list[0]["userCount"], "1");
    assert!(list[0].get("settings").is_none());
    let list = profiles(&app, "?include=user_count,%20closed_users").await;
    assert_eq!(list[1]["userCount"], "2", "closed users counted, spaces tolerated");
    let list = profiles(&app, "?include=account_management").await;
    let s = &list[0]["settings"];
    assert_eq!(s["allowAccountManagement"], "true");
    assert_eq!(s["accountManagementGranular"]["allowManageUsers"], "true");
    assert!(s.get("allowBulkSending").is_none() && s.get("allowAccountManagementMetadata").is_none(), "{s}");
    assert_eq!(list[1]["settings"]["allowAccountManagement"], "false");
    let list = profiles(&app, "?include=user_count,closed_users,account_management,metadata").await;
    let s = &list[1]["settings"];
    assert_eq!(s["allowEnvelopeSending"], "true");
    assert_eq!(s["allowedTemplateAccessMetadata"]["options"], json!(["none", "use", "create", "share"]));
    assert_eq!(s["allowBulkSendingMetadata"]["rights"], "editable");
    let (st, e) = app.get(&app.ds("/permission_profiles?include=everything"), &app.admin_token).await;
    assert_eq!((st, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"));
}

#[tokio::test]
async fn create_get_update_merge_and_metadata() {
    let app = TestApp::spawn().await;
    let id = create_profile(&app, json!({"permissionProfileName": "Auditors", "settings": {"allowBulkSending": "True", "allowedTemplateAccess": "use", "allowApiAccess": true}})).await;
    let url = app.ds(&format!("/permission_profiles/{id}"));
    let (_, p) = app.get(&url, &app.admin_token).await;
    assert_eq!(p["permissionProfileName"], "Auditors");
    assert_eq!(p["modifiedByUsername"], "admin");
    assert_eq!(p["settings"]["allowBulkSending"], "true");
    assert_eq!(p["settings"]["allowApiAccess"], "true");
    assert_eq!(p["settings"]["allowAccountManagement"], "false");
    assert!(p["settings"].get("allowBulkSendingMetadata").is_none(), "no metadata unless asked");
    let (_, p) = app.get(&format!("{url}?include=metadata"), &app.admin_token).await;
    assert_eq!(p["settings"]["allowBulkSendingMetadata"]["rights"], "editable");

    // A client whose model lacks fields sends only what it knows: the rest stays.
    let (s, p) = app
        .put(
            &format!("{url}?include=metadata"),
            &app.admin_token,
            json!({"permissionProfileName": "Auditors 2", "settings": {"allowBulkSending": "false"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["permissionProfileName"], "Auditors 2");
    assert_eq!(p["settings"]["allowBulkSending"], "false");
    assert_eq!(p["settings"]["allowedTemplateAccess"], "use");
    assert_eq!(p["settings"]["allowApiAccess"], "true");
    assert!(p["settings"]["allowBulkSendingMetadata"].is_object());

    for (body, field) in [
        (json!({"settings": {"allowedTemplateAccess": "everything"}}), "allowedTemplateAccess"),
        (json!({"settings": {"allowedAddressBookAccess": "all"}}), "allowedAddressBookAccess"),
        (json!({"settings": {"powerFormRole": "owner"}}), "powerFormRole"),
        (json!({"settings": {"vaultingMode": "sometimes"}}), "vaultingMode"),
        (json!({"settings": {"allowBulkSending": "maybe"}}), "allowBulkSending"),
        (json!({"permissionProfileName": ""}), "permissionProfileName"),
    ] {
        let (s, e) = app.put(&url, &app.admin_token, body.clone()).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"), "{body}");
        assert!(e["message"].as_str().unwrap().contains(field), "{body}: {e}");
    }
    let (s, e) = app
        .post(&app.ds("/permission_profiles"), &app.admin_token, json!({"permissionProfileName": "AUDITORS 2"}))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_NAME_EXISTS"));
    let (s, e) = app.put(&url, &app.admin_token, json!({"permissionProfileName": "DocuSign Viewer"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_NAME_EXISTS"));
    let (s, e) = app.post(&app.ds("/permission_profiles"), &app.admin_token, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"));
    for bad in ["999999", "abc"] {
        let (s, e) = app.get(&app.ds(&format!("/permission_profiles/{bad}")), &app.admin_token).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_DOES_NOT_EXIST"), "{bad}");
    }
}

#[tokio::test]
async fn users_in_a_put_move_to_the_profile_and_is_admin_follows() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let admin_profile = id_of(&profiles(&app, "").await, "Account Administrator");
    let (s, _) = app
        .put(
            &app.ds(&format!("/permission_profiles/{admin_profile}")),
            &app.admin_token,
            json!({"users": [{"userId": ann}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, u) = app.get(&app.ds(&format!("/users/{ann}")), &app.admin_token).await;
    assert_eq!(
        (u["isAdmin"].as_str(), u["permissionProfileId"].as_str()),
        (Some("true"), Some(admin_profile.as_str()))
    );
    let (s, e) = app
        .put(
            &app.ds(&format!("/permission_profiles/{admin_profile}")),
            &app.admin_token,
            json!({"users": [{"userId": "00000000-0000-0000-0000-000000000000"}]}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_USERID"));
}

/// DELETE a profile as the Python SDK sends it (body `{}`).
async fn del(app: &TestApp, id: &str, query: &str) -> (StatusCode, Value) {
    app.call(Method::DELETE, &app.ds(&format!("/permission_profiles/{id}{query}")), &app.admin_token, Some(json!({})))
        .await
}

#[tokio::test]
async fn delete_refuses_defaults_and_profiles_with_users_unless_moved() {
    let app = TestApp::spawn().await;
    let list = profiles(&app, "").await;
    let (viewer, sender) = (id_of(&list, "DocuSign Viewer"), id_of(&list, "DocuSign Sender"));
    let (s, e) = del(&app, &viewer, "").await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "CANNOT_CHANGE_BUILT_IN"));
    let custom = create_profile(&app, json!({"permissionProfileName": "Temp"})).await;
    let created = app
        .create_users(json!([{"userName": "A", "email": "a@example.com", "permissionProfileId": custom}, {"userName": "B", "email": "b@example.com", "permissionProfileId": custom}]))
        .await;
    let (s, e) = del(&app, &custom, "").await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_IN_USE"));
    assert!(e["message"].as_str().unwrap().contains('2'));
    let (s, e) = del(&app, &custom, "?move_users_to=424242").await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_DOES_NOT_EXIST"));
    let (s, body) = del(&app, &custom, &format!("?move_users_to={sender}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, Value::Null, "no body");
    for u in &created {
        let (_, user) = app.get(&app.ds(&format!("/users/{}", u["userId"].as_str().unwrap())), &app.admin_token).await;
        assert_eq!(user["permissionProfileName"], "DocuSign Sender");
    }
    let (s, e) = app.get(&app.ds(&format!("/permission_profiles/{custom}")), &app.admin_token).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_DOES_NOT_EXIST"));
    let empty = create_profile(&app, json!({"permissionProfileName": "Empty"})).await;
    assert_eq!(del(&app, &empty, "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed_through_profiles() {
    let app = TestApp::spawn().await;
    let list = profiles(&app, "").await;
    let admin_profile = id_of(&list, "Account Administrator");
    let (s, e) = app
        .put(
            &app.ds(&format!("/permission_profiles/{admin_profile}")),
            &app.admin_token,
            json!({"settings": {"allowAccountManagement": "false"}}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "CANNOT_REMOVE_LAST_ADMINISTRATOR"));
    let (s, e) = app
        .put(
            &app.ds(&format!("/permission_profiles/{}", id_of(&list, "DocuSign Viewer"))),
            &app.admin_token,
            json!({"users": [{"userId": app.admin_id}]}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "CANNOT_REMOVE_LAST_ADMINISTRATOR"));
    let (_, me) = app.get(&app.ds(&format!("/users/{}", app.admin_id)), &app.admin_token).await;
    assert_eq!(me["isAdmin"], "true");
}

#[tokio::test]
async fn profile_etags() {
    let app = TestApp::spawn().await;
    let id = create_profile(&app, json!({"permissionProfileName": "Tagged"})).await;
    let url = app.ds(&format!("/permission_profiles/{id}"));
    let r = app.http.get(&url).bearer_auth(&app.admin_token).send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = app.http.get(&url).bearer_auth(&app.admin_token).header("If-None-Match", &tag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let put = |t: &str| {
        app.http
            .put(&url)
            .bearer_auth(&app.admin_token)
            .header("If-Match", t)
            .json(&json!({"settings": {"allowBulkSending": true}}))
            .send()
    };
    assert_eq!(put(&tag).await.unwrap().status(), StatusCode::OK);
    assert_eq!(put(&tag).await.unwrap().status(), StatusCode::PRECONDITION_FAILED);
    let r = app
        .http
        .delete(&url)
        .bearer_auth(&app.admin_token)
        .header("If-Match", &tag)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
}

/// A member holding a new profile with these settings: (userId, token, profileId).
async fn member_with(app: &TestApp, name: &str, settings: Value) -> (String, String, String) {
    let profile =
        create_profile(app, json!({"permissionProfileName": format!("{name} profile"), "settings": settings})).await;
    let email = format!("{name}@example.com");
    let created = app
        .create_users(json!([{"userName": name, "email": email, "password": PASSWORD, "permissionProfileId": profile}]))
        .await;
    assert!(created[0]["errorDetails"].is_null(), "{}", created[0]);
    let token = app.login(&email, PASSWORD).await.unwrap();
    (created[0]["userId"].as_str().unwrap().to_owned(), token, profile)
}

#[tokio::test]
async fn a_matrix_of_roles_against_each_management_call() {
    let app = TestApp::spawn().await;
    let target = app.create_user("target@example.com", "Target").await;
    let list = profiles(&app, "").await;
    let (_, viewer_token, _) =
        member_with(&app, "viewer", json!({"accountManagementGranular": {"allowViewUsers": "true"}})).await;
    let sender_token = app.member("sender@example.com", "Sender").await.1;
    let ds_viewer = app.create_users(json!([{"userName": "V", "email": "dsviewer@example.com", "password": PASSWORD, "permissionProfileId": id_of(&list, "DocuSign Viewer")}])).await;
    assert!(ds_viewer[0]["errorDetails"].is_null());
    let ds_viewer_token = app.login("dsviewer@example.com", PASSWORD).await.unwrap();
    let (_, groups_token, _) =
        member_with(&app, "grouper", json!({"accountManagementGranular": {"allowManageGroupsButNotUsers": true}}))
            .await;

    let tokens = [
        ("admin", app.admin_token.clone()),
        ("viewUsers", viewer_token),
        ("sender", sender_token),
        ("viewer", ds_viewer_token),
        ("groups", groups_token),
    ];
    // (call, roles allowed)
    let mut n = 0;
    for (role, token) in &tokens {
        let allowed = |call: &str| -> bool {
            match call {
                "list users" | "read user" => matches!(*role, "admin" | "viewUsers"),
                "create user" | "update user" | "close user" => *role == "admin",
                "create group" | "list groups" => {
                    matches!(*role, "admin" | "groups") || (call == "list groups" && *role == "viewUsers")
                }
                "list profiles" => matches!(*role, "admin" | "viewUsers" | "groups"),
                "create profile" => *role == "admin",
                _ => unreachable!(),
            }
        };
        n += 1;
        let calls: Vec<(&str, Method, String, Option<Value>)> = vec![
            ("list users", Method::GET, app.ds("/users"), None),
            ("read user", Method::GET, app.ds(&format!("/users/{target}")), None),
            (
                "create user",
                Method::POST,
                app.ds("/users"),
                Some(json!({"newUsers": [{"userName": "N", "email": format!("n{n}@example.com")}]})),
            ),
            ("update user", Method::PUT, app.ds(&format!("/users/{target}")), Some(json!({"jobTitle": role}))),
            (
                "create group",
                Method::POST,
                app.ds("/groups"),
                Some(json!({"groups": [{"groupName": format!("g{n}")}]})),
            ),
            ("list groups", Method::GET, app.ds("/groups"), None),
            ("list profiles", Method::GET, app.ds("/permission_profiles"), None),
            (
                "create profile",
                Method::POST,
                app.ds("/permission_profiles"),
                Some(json!({"permissionProfileName": format!("p{n}")})),
            ),
            (
                "close user",
                Method::DELETE,
                app.ds("/users"),
                Some(json!({"users": [{"userId": "00000000-0000-0000-0000-000000000000"}]})),
            ),
        ];
        for (call, method, url, body) in calls {
            let (s, b) = app.call(method, &url, token, body).await;
            if allowed(call) {
                assert!(s.is_success(), "{role} may {call}: {s} {b}");
            } else {
                assert_eq!(
                    (s, code(&b)),
                    (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"),
                    "{role} may not {call}: {b}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_profile_edited_between_two_requests_changes_what_its_users_may_do() {
    let app = TestApp::spawn().await;
    let (_, token, profile) =
        member_with(&app, "shifty", json!({"accountManagementGranular": {"allowViewUsers": true}})).await;
    let url = app.ds(&format!("/permission_profiles/{profile}"));
    assert_eq!(app.get(&app.ds("/users"), &token).await.0, StatusCode::OK);
    app.put(&url, &app.admin_token, json!({"settings": {"accountManagementGranular": {"allowViewUsers": false}}}))
        .await;
    assert_eq!(app.get(&app.ds("/users"), &token).await.0, StatusCode::BAD_REQUEST, "the next request already follows");
    let create = json!({"newUsers": [{"userName": "X", "email": "x@example.com"}]});
    assert_eq!(app.post(&app.ds("/users"), &token, create.clone()).await.0, StatusCode::BAD_REQUEST);
    app.put(&url, &app.admin_token, json!({"settings": {"accountManagementGranular": {"allowManageUsers": "true"}}}))
        .await;
    assert_eq!(app.post(&app.ds("/users"), &token, create).await.0, StatusCode::CREATED);
    assert_eq!(app.get(&app.ds("/users"), &token).await.0, StatusCode::OK, "managing users includes viewing them");
}

#[tokio::test]
async fn a_member_cannot_grant_rights_it_does_not_have() {
    let app = TestApp::spawn().await;
    let (_, token, _) =
        member_with(&app, "manager", json!({"accountManagementGranular": {"allowManageUsers": true}})).await;
    let list = profiles(&app, "").await;
    let admin_profile = id_of(&list, "Account Administrator");
    let created = app
        .post(
            &app.ds("/users"),
            &token,
            json!({"newUsers": [
                {"userName": "A", "email": "a@example.com", "permissionProfileId": admin_profile},
                {"userName": "B", "email": "b@example.com", "isAdmin": "true"},
                {"userName": "C", "email": "c@example.com", "permissionProfileId": id_of(&list, "DocuSign Viewer")},
            ]}),
        )
        .await
        .1;
    assert_eq!(created["newUsers"][0]["errorDetails"]["errorCode"], "USER_LACKS_PERMISSIONS");
    assert_eq!(created["newUsers"][1]["errorDetails"]["errorCode"], "USER_LACKS_PERMISSIONS");
    assert!(created["newUsers"][2]["errorDetails"].is_null());
    let c = created["newUsers"][2]["userId"].as_str().unwrap();
    let (s, e) = app.put(&app.ds(&format!("/users/{c}")), &token, json!({"permissionProfileId": admin_profile})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"));
    let (s, _) = app
        .put(&app.ds(&format!("/users/{c}")), &token, json!({"permissionProfileId": id_of(&list, "DocuSign Sender")}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // Nor edit profiles at all.
    let (s, e) = app
        .put(&app.ds(&format!("/permission_profiles/{admin_profile}")), &token, json!({"users": [{"userId": c}]}))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"));
}
