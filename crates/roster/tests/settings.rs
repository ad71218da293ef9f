//! DocuSign user settings, custom settings and profile.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const KEY: &str = "X-DocuSign-User-Settings-Key";

/// A custom-settings call with an optional group header.
async fn custom(
    app: &TestApp,
    method: Method,
    user: &str,
    token: &str,
    group: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.ds(&format!("/users/{user}/custom_settings"))).bearer_auth(token);
    if let Some(g) = group {
        req = req.header(KEY, g);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

fn names(v: &Value) -> Vec<(String, String)> {
    v["customSettings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["value"].as_str().unwrap().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn custom_settings_are_grouped_by_the_header_and_merge_by_name() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let put = |group: Option<&'static str>, items: Value| {
        custom(&app, Method::PUT, &me, &token, group, Some(json!({"customSettings": items})))
    };
    let (s, r) = put(None, json!([{"name": "color", "value": "blue"}, {"name": "size", "value": "L"}])).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(names(&r), pairs(&[("color", "blue"), ("size", "L")]));
    put(Some("ui"), json!([{"name": "color", "value": "red"}, {"name": "theme", "value": "dark"}])).await;
    put(None, json!([{"name": "size", "value": "XL"}, {"name": "lang", "value": "fr"}])).await;

    let (_, ungrouped) = custom(&app, Method::GET, &me, &token, None, None).await;
    assert_eq!(names(&ungrouped), pairs(&[("color", "blue"), ("size", "XL"), ("lang", "fr")]));
    let (_, ui) = custom(&app, Method::GET, &me, &token, Some("ui"), None).await;
    assert_eq!(names(&ui), pairs(&[("color", "red"), ("theme", "dark")]));
    let (_, empty) = custom(&app, Method::GET, &me, &token, Some("other"), None).await;
    assert_eq!(empty["customSettings"], json!([]));

    // DELETE with the header touches only that group.
    let (s, _) = custom(
        &app,
        Method::DELETE,
        &me,
        &token,
        Some("ui"),
        Some(json!({"customSettings": [{"name": "color"}, {"name": "absent"}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, ui) = custom(&app, Method::GET, &me, &token, Some("ui"), None).await;
    assert_eq!(names(&ui), pairs(&[("theme", "dark")]));
    let (_, ungrouped) = custom(&app, Method::GET, &me, &token, None, None).await;
    assert_eq!(names(&ungrouped)[0], ("color".to_owned(), "blue".to_owned()));
    custom(&app, Method::DELETE, &me, &token, None, Some(json!({"customSettings": [{"name": "color"}]}))).await;
    let (_, ungrouped) = custom(&app, Method::GET, &me, &token, None, None).await;
    assert_eq!(names(&ungrouped), pairs(&[("size", "XL"), ("lang", "fr")]));
}

/// A change's `ETag` is the one the group as stored has (the next GET's):
/// updated names keep their place, new ones follow, and a name given twice
/// in one request is refused the second time.
#[tokio::test]
async fn a_change_tags_the_group_as_the_next_read_finds_it() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{me}/custom_settings"));
    let send = |method: Method, items: Value| {
        app.http
            .request(method, &url)
            .bearer_auth(&token)
            .header(KEY, "g")
            .json(&json!({"customSettings": items}))
            .send()
    };
    let read = || async {
        let r = app.http.get(&url).bearer_auth(&token).header(KEY, "g").send().await.unwrap();
        let tag = r.headers()["etag"].to_str().unwrap().to_owned();
        (tag, names(&r.json::<Value>().await.unwrap()))
    };
    send(Method::PUT, json!([{"name": "a", "value": "1"}, {"name": "z", "value": "0"}])).await.unwrap();
    let changes = [
        (
            Method::PUT,
            json!([{"name": "b", "value": "2"}, {"name": "c", "value": "3"}, {"name": "b", "value": "4"}, {"name": "a", "value": "5"}]),
        ),
        (Method::DELETE, json!([{"name": "z"}, {"name": "absent"}])),
    ];
    let mut stored = Vec::new();
    for (method, items) in changes {
        let r = send(method, items).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let tag = r.headers()["etag"].to_str().unwrap().to_owned();
        let (read_tag, group) = read().await;
        assert_eq!(tag, read_tag, "the change's ETag is not the group's ({group:?})");
        stored.push(group);
    }
    assert_eq!(stored[0], pairs(&[("a", "5"), ("z", "0"), ("b", "2"), ("c", "3")]));
    assert_eq!(stored[1], pairs(&[("a", "5"), ("b", "2"), ("c", "3")]));
}

#[tokio::test]
async fn bad_custom_settings_items_are_reported_one_by_one() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let items = json!([
        {"name": "ok", "value": "1"},
        {"name": "", "value": "x"},
        {"name": "ok", "value": "2"},
        {"name": 5, "value": "x"},
        {"name": "num", "value": 5},
        {"value": "no name"},
        {"name": "fine", "value": ""},
    ]);
    let (s, r) = custom(&app, Method::PUT, &me, &token, None, Some(json!({"customSettings": items}))).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let echo = r["customSettings"].as_array().unwrap();
    let errors: Vec<bool> = echo.iter().map(|e| e["errorDetails"].is_object()).collect();
    assert_eq!(errors, [false, true, true, true, true, true, false], "{r}");
    assert!(echo[2]["errorDetails"]["message"].as_str().unwrap().contains("more than once"));
    assert!(echo[4]["errorDetails"]["message"].as_str().unwrap().contains("value"));
    let (_, stored) = custom(&app, Method::GET, &me, &token, None, None).await;
    assert_eq!(names(&stored), pairs(&[("ok", "1"), ("fine", "")]));
    let (s, e) = custom(&app, Method::PUT, &me, &token, None, Some(json!({}))).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"));
}

/// The size Roster counts: the compact JSON array of all settings.
fn size(settings: &[(&str, &str)]) -> usize {
    let list: Vec<Value> = settings.iter().map(|(n, v)| json!({"name": n, "value": v})).collect();
    serde_json::to_string(&list).unwrap().chars().count()
}

#[tokio::test]
async fn the_4000_character_limit_counts_every_group_and_refuses_whole() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let a_value = "a".repeat(1000);
    custom(
        &app,
        Method::PUT,
        &me,
        &token,
        Some("A"),
        Some(json!({"customSettings": [{"name": "a", "value": a_value}]})),
    )
    .await;
    // Fill group B so that everything together is exactly 4,000.
    let fill = 4000 - size(&[("a", &a_value), ("b", "")]);
    let b_value = "é".repeat(fill); // characters, not bytes
    assert_eq!(size(&[("a", &a_value), ("b", &b_value)]), 4000);
    let (s, r) = custom(
        &app,
        Method::PUT,
        &me,
        &token,
        Some("B"),
        Some(json!({"customSettings": [{"name": "b", "value": b_value}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "exactly at the limit passes: {r}");

    // One character more, across groups, is refused whole: the good item too.
    let (s, e) =
        custom(&app, Method::PUT, &me, &token, None, Some(json!({"customSettings": [{"name": "c", "value": ""}]})))
            .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "CUSTOM_SETTINGS_SIZE_LIMIT_EXCEEDED"), "{e}");
    let msg = e["message"].as_str().unwrap();
    let over = 4000 + size(&[("c", "")]) - 1; // the new item, plus the comma that joins it
    assert!(msg.contains(&over.to_string()) && msg.contains("4000"), "{msg}");
    let (_, ungrouped) = custom(&app, Method::GET, &me, &token, None, None).await;
    assert_eq!(ungrouped["customSettings"], json!([]), "nothing stored");

    // Shrinking a value in place stays within the limit.
    let (s, _) = custom(
        &app,
        Method::PUT,
        &me,
        &token,
        Some("B"),
        Some(json!({"customSettings": [{"name": "b", "value": "small"}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        custom(&app, Method::PUT, &me, &token, None, Some(json!({"customSettings": [{"name": "c", "value": ""}]})))
            .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn custom_settings_in_user_information() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([
            {"userName": "C", "email": "c@example.com", "customSettings": [{"name": "team", "value": "blue"}]},
            {"userName": "D", "email": "d@example.com", "customSettings": [{"name": "", "value": "x"}]},
        ]))
        .await;
    assert!(created[0]["errorDetails"].is_null(), "{}", created[0]);
    assert!(created[1]["errorDetails"]["message"].as_str().unwrap().contains("customSettings[0]"), "{}", created[1]);
    let id = created[0]["userId"].as_str().unwrap();
    let (_, list) = app.get(&app.ds("/users?additional_info=true&email=c@example.com"), &app.admin_token).await;
    assert_eq!(list["users"][0]["customSettings"], json!([{"name": "team", "value": "blue"}]));
    assert!(list["users"][0]["userSettings"]["locale"].is_string());
    let (_, plain) = app.get(&app.ds("/users?email=c@example.com"), &app.admin_token).await;
    assert!(plain["users"][0].get("customSettings").is_none());
    let (_, one) = app.get(&app.ds(&format!("/users/{id}?additional_info=True")), &app.admin_token).await;
    assert_eq!(one["customSettings"][0]["name"], "team");
}

#[tokio::test]
async fn custom_settings_follow_the_access_rules_and_etags() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let other = app.create_user("bob@example.com", "Bob").await;
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let body = (method != Method::GET).then(|| json!({"customSettings": [{"name": "x", "value": "y"}]}));
        let (s, e) = custom(&app, method.clone(), &other, &token, None, body).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"), "{method}");
    }
    // The admin manages anyone's.
    let (s, _) = custom(
        &app,
        Method::PUT,
        &other,
        &app.admin_token,
        None,
        Some(json!({"customSettings": [{"name": "x", "value": "y"}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let url = app.ds(&format!("/users/{me}/custom_settings"));
    let r = app.http.get(&url).bearer_auth(&token).header(KEY, "g").send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = app.http.get(&url).bearer_auth(&token).header(KEY, "g").header("If-None-Match", &tag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let put = |t: &str| {
        app.http
            .put(&url)
            .bearer_auth(&token)
            .header(KEY, "g")
            .header("If-Match", t)
            .json(&json!({"customSettings": [{"name": "n", "value": t}]}))
            .send()
    };
    assert_eq!(put(&tag).await.unwrap().status(), StatusCode::OK);
    assert_eq!(put(&tag).await.unwrap().status(), StatusCode::PRECONDITION_FAILED, "the group changed");
    // Another group's change does not touch this group's tag.
    let r = app.http.get(&url).bearer_auth(&token).header(KEY, "g").send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    custom(&app, Method::PUT, &me, &token, Some("h"), Some(json!({"customSettings": [{"name": "z", "value": "1"}]})))
        .await;
    assert_eq!(put(&tag).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn user_settings_read_with_defaults_typed_strings_and_metadata() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let (s, st) = app.get(&app.ds(&format!("/users/{me}/settings")), &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["locale"], "en");
    assert_eq!(st["canSendEnvelope"], "true");
    assert_eq!(st["bulkSend"], "false");
    assert_eq!(st["canManageAccount"], "false");
    assert_eq!(st["senderEmailNotifications"]["envelopeComplete"], "true");
    assert_eq!(st["accountManagementGranular"]["canManageUsers"], "false");
    assert_eq!(st["localeMetadata"]["rights"], "editable");
    assert!(st["localeMetadata"]["options"].as_array().unwrap().contains(&json!("pt_BR")));
    assert_eq!(st["bulkSendMetadata"]["rights"], "read_only", "a member cannot grant itself rights");
    assert_eq!(st["modifiedByMetadata"]["rights"], "read_only");
    let (_, as_admin) = app.get(&app.ds(&format!("/users/{me}/settings")), &app.admin_token).await;
    assert_eq!(as_admin["bulkSendMetadata"]["rights"], "editable");
    let (_, admin_own) = app.get(&app.ds(&format!("/users/{}/settings", app.admin_id)), &app.admin_token).await;
    assert_eq!(admin_own["canManageAccount"], "true");
    assert_eq!(admin_own["accountManagementGranular"]["canManageUsers"], "true");
}

#[tokio::test]
async fn user_settings_put_merges_takes_both_boolean_forms_and_answers_no_body() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}/settings"));
    let r = app
        .http
        .put(&url)
        .bearer_auth(&app.admin_token)
        .json(
            &json!({"locale": "fr", "bulkSend": "True", "canUseScratchpad": true, "templateMatchingSensitivity": "80",
            "signerEmailNotifications": {"envelopeVoided": "false"}, "modifiedBy": "someone", "unknownThing": 1,
            "localeMetadata": {"rights": "editable"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().is_empty(), "PUT settings answers no body");
    app.put(&url, &app.admin_token, json!({"timezoneOffset": "tz_96_yakutsk", "bulkSend": false})).await;
    let (_, st) = app.get(&url, &app.admin_token).await;
    assert_eq!(st["locale"], "fr", "absent fields stay unchanged");
    assert_eq!(st["timezoneOffset"], "tz_96_yakutsk");
    assert_eq!(st["bulkSend"], "false");
    assert_eq!(st["canUseScratchpad"], "true");
    assert_eq!(st["templateMatchingSensitivity"], "80");
    assert_eq!(st["signerEmailNotifications"]["envelopeVoided"], "false");
    assert_eq!(st["signerEmailNotifications"]["envelopeComplete"], "true");
    assert_eq!(st["modifiedBy"], app.admin_id.as_str(), "set by the server");
    assert!(st["modifiedDate"].as_str().unwrap().ends_with('Z'));
    // The same document inside userInformation.
    let (_, user) = app.get(&app.ds(&format!("/users/{id}")), &app.admin_token).await;
    assert_eq!(user["userSettings"]["locale"], "fr");
}

#[tokio::test]
async fn invalid_settings_are_refused_by_name_and_change_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}/settings"));
    for (body, field) in [
        (json!({"locale": "xx"}), "locale"),
        (json!({"timezoneOffset": "tz_97_mars"}), "timezoneOffset"),
        (json!({"powerFormMode": "everyone"}), "powerFormMode"),
        (json!({"vaultingMode": "all"}), "vaultingMode"),
        (json!({"selfSignedRecipientEmailDocument": "include_fax"}), "selfSignedRecipientEmailDocument"),
        (json!({"bulkSend": "yes"}), "bulkSend"),
        (json!({"canSendEnvelope": 1}), "canSendEnvelope"),
        (json!({"templateMatchingSensitivity": "high"}), "templateMatchingSensitivity"),
        (json!({"locale": 5}), "locale"),
        (json!({"senderEmailNotifications": {"deliveryFailed": "maybe"}}), "senderEmailNotifications.deliveryFailed"),
    ] {
        let mut with_good = body.clone();
        with_good["templateApplyNotify"] = json!("true");
        let (s, e) = app.put(&url, &app.admin_token, with_good).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"), "{body}");
        assert!(e["message"].as_str().unwrap().contains(field), "{body}: {e}");
    }
    let (_, st) = app.get(&url, &app.admin_token).await;
    assert_eq!(st["templateApplyNotify"], "false", "nothing was applied");
    assert!(st.get("modifiedBy").is_none());
}

#[tokio::test]
async fn a_member_changes_its_preferences_but_not_its_rights() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let other = app.create_user("bob@example.com", "Bob").await;
    let url = app.ds(&format!("/users/{me}/settings"));
    let (s, _) = app.put(&url, &token, json!({"locale": "de", "timezoneDST": "true"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = app.put(&url, &token, json!({"locale": "it", "bulkSend": "true"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"));
    assert!(e["message"].as_str().unwrap().contains("bulkSend"));
    let (s, _) = app.put(&url, &token, json!({"canSendEnvelope": "true"})).await;
    assert_eq!(s, StatusCode::OK, "restating a right is not a change");
    let (_, st) = app.get(&url, &token).await;
    assert_eq!((st["locale"].as_str(), st["bulkSend"].as_str()), (Some("de"), Some("false")));
    // Through userInformation the same rule holds.
    let (s, e) = app
        .put(&app.ds(&format!("/users/{me}")), &token, json!({"userSettings": {"apiAccountWideAccess": true}}))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"));
    // Another member's settings are out of reach.
    for (s, e) in [
        app.get(&app.ds(&format!("/users/{other}/settings")), &token).await,
        app.put(&app.ds(&format!("/users/{other}/settings")), &token, json!({"locale": "de"})).await,
    ] {
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"));
    }
}

#[tokio::test]
async fn user_settings_on_create_and_bulk_update() {
    let app = TestApp::spawn().await;
    let created = app
        .create_users(json!([
            {"userName": "F", "email": "f@example.com", "userSettings": {"locale": "fr", "canSendEnvelope": true}},
            {"userName": "G", "email": "g@example.com", "userSettings": {"locale": "klingon"}},
        ]))
        .await;
    assert!(created[0]["errorDetails"].is_null());
    assert!(created[1]["errorDetails"]["message"].as_str().unwrap().contains("userSettings.locale"), "{}", created[1]);
    let id = created[0]["userId"].as_str().unwrap();
    let (_, st) = app.get(&app.ds(&format!("/users/{id}/settings")), &app.admin_token).await;
    assert_eq!(st["locale"], "fr");
    let (_, resp) = app
        .put(&app.ds("/users"), &app.admin_token, json!({"users": [{"userId": id, "userSettings": {"locale": "ja"}}]}))
        .await;
    assert_eq!(resp["users"][0]["userSettings"]["locale"], "ja");
}

#[tokio::test]
async fn user_settings_etags() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{id}/settings"));
    let r = app.http.get(&url).bearer_auth(&app.admin_token).send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = app.http.get(&url).bearer_auth(&app.admin_token).header("If-None-Match", &tag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let put = |t: &str, locale: &str| {
        app.http.put(&url).bearer_auth(&app.admin_token).header("If-Match", t).json(&json!({"locale": locale})).send()
    };
    assert_eq!(put(&tag, "fr").await.unwrap().status(), StatusCode::OK);
    let r = put(&tag, "de").await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let (_, st) = app.get(&url, &app.admin_token).await;
    assert_eq!(st["locale"], "fr");
}

#[tokio::test]
async fn the_profile_is_the_user_s_own() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{me}/profile"));
    let (s, p) = app.get(&url, &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["userDetails"]["email"], "ann@example.com");
    assert_eq!(p["displayProfile"], "true");
    assert_eq!(p["usageHistory"]["sentCount"], "0");
    assert!(p["authenticationMethods"].is_array());
    // Not even an admin reads another user's profile.
    let (s, e) = app.get(&url, &app.admin_token).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"));
    let (s, e) = app.put(&url, &app.admin_token, json!({"companyName": "Evil"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"));
}

#[tokio::test]
async fn profile_put_answers_no_body_and_names_win_over_user_name() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let url = app.ds(&format!("/users/{me}/profile"));
    let r = app
        .http
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"companyName": "Acme", "title": "CTO", "displayProfile": "false", "address": {"city": "Paris"},
            "userDetails": {"userName": "Ignored Name", "firstName": "Ann", "lastName": "Lee"},
            "usageHistory": {"sentCount": "99"}, "authenticationMethods": [{"authenticationType": "X"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().is_empty());
    let (_, p) = app.get(&url, &token).await;
    assert_eq!(p["companyName"], "Acme");
    assert_eq!(p["title"], "CTO");
    assert_eq!(p["displayProfile"], "false");
    assert_eq!(p["address"]["city"], "Paris");
    assert_eq!(p["userDetails"]["userName"], "Ann Lee", "firstName/lastName win over userName");
    assert_eq!(p["usageHistory"]["sentCount"], "0", "read-only");
    assert_eq!(p["authenticationMethods"], json!([]), "read-only");
    // userName alone changes userName.
    app.put(&url, &token, json!({"userDetails": {"userName": "Annie"}})).await;
    let (_, user) = app.get(&app.ds(&format!("/users/{me}")), &app.admin_token).await;
    assert_eq!(user["userName"], "Annie");
    assert_eq!(user["company"], "Acme");
}

#[tokio::test]
async fn settings_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    app.put(&app.ds(&format!("/users/{me}/settings")), &token, json!({"locale": "es"})).await;
    custom(&app, Method::PUT, &me, &token, Some("g"), Some(json!({"customSettings": [{"name": "k", "value": "v"}]})))
        .await;
    app.put(&app.ds(&format!("/users/{me}/profile")), &token, json!({"displayUsageHistory": "false"})).await;
    app.restart().await;
    let (_, st) = app.get(&app.ds(&format!("/users/{me}/settings")), &token).await;
    assert_eq!(st["locale"], "es");
    let (_, g) = custom(&app, Method::GET, &me, &token, Some("g"), None).await;
    assert_eq!(names(&g), pairs(&[("k", "v")]));
    let (_, p) = app.get(&app.ds(&format!("/users/{me}/profile")), &token).await;
    assert_eq!(p["displayUsageHistory"], "false");
}
