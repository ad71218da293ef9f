//! Groups and group members.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn groups(app: &TestApp, query: &str) -> Value {
    let (s, b) = app.get(&app.ds(&format!("/groups{query}")), &app.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["groupName"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

async fn create_group(app: &TestApp, name: &str) -> String {
    let (s, b) = app.post(&app.ds("/groups"), &app.admin_token, json!({"groups": [{"groupName": name}]})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["groups"][0]["groupId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn everyone_and_administrators_are_built_in() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let closed = app.create_user("gone@example.com", "Gone").await;
    app.delete(&app.ds("/users"), &app.admin_token, json!({"users": [{"userId": closed}]})).await;
    let list = groups(&app, "").await;
    let everyone = find(&list, "Everyone");
    let admins = find(&list, "Administrators");
    assert_eq!(everyone["groupType"], "EveryoneGroup");
    assert_eq!(admins["groupType"], "AdminGroup");
    assert_eq!(everyone["usersCount"], "2", "every open member");
    assert_eq!(admins["usersCount"], "1");
    let (everyone_id, admins_id) = (everyone["groupId"].as_str().unwrap(), admins["groupId"].as_str().unwrap());

    let (_, renamed) = app
        .put(&app.ds("/groups"), &app.admin_token, json!({"groups": [{"groupId": everyone_id, "groupName": "All"}]}))
        .await;
    assert_eq!(renamed["groups"][0]["errorDetails"]["errorCode"], "CANNOT_CHANGE_BUILT_IN");
    let (_, deleted) =
        app.delete(&app.ds("/groups"), &app.admin_token, json!({"groups": [{"groupId": admins_id}]})).await;
    assert_eq!(deleted["groups"][0]["errorDetails"]["errorCode"], "CANNOT_CHANGE_BUILT_IN");
    let (s, e) = app
        .put(&app.ds(&format!("/groups/{everyone_id}/users")), &app.admin_token, json!({"users": [{"userId": ann}]}))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "CANNOT_CHANGE_BUILT_IN"));

    // Promotion puts a user in Administrators.
    app.put(&app.ds(&format!("/users/{ann}")), &app.admin_token, json!({"isAdmin": "true"})).await;
    let (_, members) = app.get(&app.ds(&format!("/groups/{admins_id}/users")), &app.admin_token).await;
    assert_eq!(members["totalSetSize"], "2");
    let (_, user) = app.get(&app.ds(&format!("/users/{ann}")), &app.admin_token).await;
    let types: Vec<&str> =
        user["groupList"].as_array().unwrap().iter().map(|g| g["groupType"].as_str().unwrap()).collect();
    assert_eq!(types, ["EveryoneGroup", "AdminGroup"]);
}

#[tokio::test]
async fn create_update_and_delete_groups_with_per_group_errors() {
    let app = TestApp::spawn().await;
    let (_, profiles) = app.get(&app.ds("/permission_profiles"), &app.admin_token).await;
    let sender = profiles["permissionProfiles"][1]["permissionProfileId"].as_str().unwrap().to_owned();
    let (s, b) = app
        .post(
            &app.ds("/groups"),
            &app.admin_token,
            json!({"groups": [
                {"groupName": "Sales", "permissionProfileId": sender},
                {"groupName": "sales"},
                {"groupName": ""},
                {"groupName": "Ghosts", "permissionProfileId": "999999"},
                {"groupName": "Support"},
            ]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let g = b["groups"].as_array().unwrap();
    assert_eq!(g[0]["groupType"], "CustomGroup");
    assert_eq!(g[0]["permissionProfileId"], sender.as_str());
    assert_eq!(g[1]["errorDetails"]["errorCode"], "GROUP_NAME_EXISTS");
    assert_eq!(g[2]["errorDetails"]["errorCode"], "INVALID_REQUEST_PARAMETER");
    assert_eq!(g[3]["errorDetails"]["errorCode"], "PERMISSION_PROFILE_DOES_NOT_EXIST");
    assert!(g[4]["errorDetails"].is_null());
    let (sales, support) = (g[0]["groupId"].as_str().unwrap().to_owned(), g[4]["groupId"].as_str().unwrap().to_owned());

    let (_, b) = app
        .put(
            &app.ds("/groups"),
            &app.admin_token,
            json!({"groups": [
                {"groupId": sales, "groupName": "Sales EMEA"},
                {"groupId": support, "groupName": "Sales EMEA"},
                {"groupId": "424242", "groupName": "Nobody"},
            ]}),
        )
        .await;
    assert_eq!(b["groups"][0]["groupName"], "Sales EMEA");
    assert_eq!(b["groups"][0]["permissionProfileId"], sender.as_str(), "absent parts unchanged");
    assert_eq!(b["groups"][1]["errorDetails"]["errorCode"], "GROUP_NAME_EXISTS");
    assert_eq!(b["groups"][2]["errorDetails"]["errorCode"], "INVALID_GROUP_ID");

    let (_, b) = app
        .delete(&app.ds("/groups"), &app.admin_token, json!({"groups": [{"groupId": support}, {"groupId": "nope"}]}))
        .await;
    assert!(b["groups"][0]["errorDetails"].is_null());
    assert_eq!(b["groups"][1]["errorDetails"]["errorCode"], "INVALID_GROUP_ID");
    let list = groups(&app, "").await;
    assert_eq!(list["totalSetSize"], "3");
}

#[tokio::test]
async fn the_group_list_pages_searches_and_filters() {
    let app = TestApp::spawn().await;
    for name in ["Alpha", "Beta", "Alphabet", "Gamma"] {
        create_group(&app, name).await;
    }
    let page = groups(&app, "?count=2&start_position=2").await;
    assert_eq!((page["resultSetSize"].as_str(), page["totalSetSize"].as_str()), (Some("2"), Some("6")));
    assert_eq!(
        (page["groups"][0]["groupName"].as_str(), page["groups"][1]["groupName"].as_str()),
        (Some("Alpha"), Some("Beta")),
        "built-in groups come first"
    );
    assert!(page["nextUri"].as_str().unwrap().contains("start_position=4"));
    let found = groups(&app, "?search_text=ALPHA").await;
    let names: Vec<&str> =
        found["groups"].as_array().unwrap().iter().map(|g| g["groupName"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alpha", "Alphabet"]);
    let custom = groups(&app, "?group_type=CustomGroup&include_usercount=false").await;
    assert_eq!(custom["totalSetSize"], "4");
    assert!(custom["groups"][0].get("usersCount").is_none());
    assert_eq!(groups(&app, "").await["groups"][2]["usersCount"], "0", "usersCount by default");
    let (s, e) = app.get(&app.ds("/groups?group_type=Secret"), &app.admin_token).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"));
}

#[tokio::test]
async fn group_users_add_list_remove_and_filter_the_users_list() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let bob = app.create_user("bob@example.com", "Bob").await;
    let cat = app.create_user("cat@example.com", "Cat").await;
    let sales = create_group(&app, "Sales").await;
    let url = app.ds(&format!("/groups/{sales}/users"));
    let (s, b) = app.put(&url, &app.admin_token, json!({"users": [{"userId": ann}, {"userId": bob}, {"userId": "00000000-0000-0000-0000-000000000000"}, {"userId": ann}]})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["users"][0]["userId"], ann.as_str());
    assert_eq!(b["users"][2]["errorDetails"]["errorCode"], "INVALID_USERID");
    assert!(b["users"][3]["errorDetails"].is_null(), "adding twice is fine");
    let (_, members) = app.get(&format!("{url}?count=1"), &app.admin_token).await;
    assert_eq!((members["totalSetSize"].as_str(), members["resultSetSize"].as_str()), (Some("2"), Some("1")));
    assert_eq!(members["users"][0]["email"], "ann@example.com");

    let emails = |v: &Value| -> Vec<String> {
        v["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
    };
    let (_, inside) = app.get(&app.ds(&format!("/users?group_id={sales}")), &app.admin_token).await;
    assert_eq!(emails(&inside), ["ann@example.com", "bob@example.com"]);
    let (_, outside) = app.get(&app.ds(&format!("/users?not_group_id={sales}")), &app.admin_token).await;
    assert_eq!(emails(&outside), [ADMIN_EMAIL, "cat@example.com"]);
    let (_, user) = app.get(&app.ds(&format!("/users/{bob}")), &app.admin_token).await;
    assert!(user["groupList"].as_array().unwrap().iter().any(|g| g["groupName"] == "Sales"));
    let (s, e) = app.get(&app.ds("/users?group_id=999999"), &app.admin_token).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_GROUP_ID"));

    let (s, b) = app.delete(&url, &app.admin_token, json!({"users": [{"userId": bob}, {"userId": cat}]})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, inside) = app.get(&app.ds(&format!("/users?group_id={sales}")), &app.admin_token).await;
    assert_eq!(emails(&inside), ["ann@example.com"]);
    let (s, e) = app.get(&app.ds("/groups/424242/users"), &app.admin_token).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_GROUP_ID"));
}

#[tokio::test]
async fn group_members_carry_an_etag() {
    let app = TestApp::spawn().await;
    let ann = app.create_user("ann@example.com", "Ann").await;
    let sales = create_group(&app, "Sales").await;
    let url = app.ds(&format!("/groups/{sales}/users"));
    let r = app.http.get(&url).bearer_auth(&app.admin_token).send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = app.http.get(&url).bearer_auth(&app.admin_token).header("If-None-Match", &tag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let put = |t: &str| {
        app.http
            .put(&url)
            .bearer_auth(&app.admin_token)
            .header("If-Match", t)
            .json(&json!({"users": [{"userId": ann}]}))
            .send()
    };
    assert_eq!(put(&tag).await.unwrap().status(), StatusCode::OK);
    assert_eq!(put(&tag).await.unwrap().status(), StatusCode::PRECONDITION_FAILED);
    let r = app
        .http
        .request(Method::DELETE, &url)
        .bearer_auth(&app.admin_token)
        .header("If-Match", &tag)
        .json(&json!({"users": [{"userId": ann}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let (_, m) = app.get(&url, &app.admin_token).await;
    assert_eq!(m["totalSetSize"], "1", "the refused delete changed nothing");
}
