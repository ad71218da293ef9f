//! The Akana surface: login, cookies, CSRF, user settings, security settings.

mod common;

use common::*;
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

const TENANT: &str = "roster";
const GROUPS: [&str; 8] = [
    "com.soa.notification.type.ticket.change",
    "com.soa.notification.type.app.alert",
    "com.soa.notification.type.post.comment",
    "com.soa.notification.type.contract.state.change",
    "com.soa.notification.type.appteam",
    "com.soa.notification.type.app.lifecycle",
    "com.soa.notification.type.news.update",
    "com.soa.notification.type.app.post",
];

/// A logged-in cookie session.
struct Session {
    auth: String,
    csrf: Option<String>,
    set_cookies: Vec<String>,
    body: Value,
}

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap().to_owned()))
}

async fn login(app: &TestApp, email: &str, password: &str) -> Result<Session, (StatusCode, Value)> {
    let r =
        app.http.post(app.url("/api/login")).json(&json!({"email": email, "password": password})).send().await.unwrap();
    let status = r.status();
    let set_cookies = cookies(r.headers());
    let body: Value = r.json().await.unwrap();
    if status != StatusCode::OK {
        return Err((status, body));
    }
    let auth = cookie_value(&set_cookies, &format!("AtmoAuthToken_{TENANT}")).expect("auth cookie");
    let csrf = cookie_value(&set_cookies, &format!("Csrf-Token_{TENANT}"));
    Ok(Session { auth, csrf, set_cookies, body })
}

impl Session {
    /// A request with the session cookie, and the CSRF header when `csrf`.
    fn req(&self, app: &TestApp, method: Method, path: &str, csrf: bool) -> RequestBuilder {
        let mut cookie = format!("AtmoAuthToken_{TENANT}={}", self.auth);
        if let Some(c) = &self.csrf {
            cookie.push_str(&format!("; Csrf-Token_{TENANT}={c}"));
        }
        let r = app.http.request(method, app.url(path)).header(COOKIE, cookie);
        if csrf {
            r.header(format!("X-Csrf-Token_{TENANT}"), self.csrf.clone().expect("a CSRF cookie"))
        } else {
            r
        }
    }
}

fn fdn(user: &str) -> String {
    format!("{user}.{TENANT}")
}

async fn text(r: reqwest::Response) -> (StatusCode, String) {
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn login_sets_the_session_and_csrf_cookies() {
    let app = TestApp::spawn().await;
    let (me, _) = app.member("ann@example.com", "Ann").await;
    let s = login(&app, "ann@example.com", PASSWORD).await.unwrap();
    assert_eq!(s.body["userFDN"], fdn(&me));
    assert_eq!(s.body["loginDomainID"], "siteusers.roster");
    assert_eq!(s.body["userName"], "Ann");
    assert_eq!(s.body["Status"], "Success");
    let auth = s.set_cookies.iter().find(|c| c.starts_with("AtmoAuthToken_roster=")).unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1800"] {
        assert!(auth.contains(attr), "{attr} in {auth}");
    }
    let csrf = s.set_cookies.iter().find(|c| c.starts_with("Csrf-Token_roster=")).unwrap();
    assert!(!csrf.contains("HttpOnly"), "scripts must read the CSRF cookie: {csrf}");
    assert!(csrf.contains("SameSite=Lax"));
    assert!(!s.body.to_string().contains(&s.auth), "the token travels only in the cookie");
}

#[tokio::test]
async fn bad_credentials_get_401_without_revealing_the_email() {
    let app = TestApp::spawn().await;
    app.member("ann@example.com", "Ann").await;
    let (s1, wrong) = login(&app, "ann@example.com", "wrong-password").await.err().unwrap();
    let (s2, unknown) = login(&app, "nobody@example.com", "wrong-password").await.err().unwrap();
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(wrong, unknown);
    let r = app.http.post(app.url("/api/login")).header(CONTENT_TYPE, "text/plain").body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn the_csrf_matrix() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let s = login(&app, "ann@example.com", PASSWORD).await.unwrap();
    let path = format!("/api/users/{}/settings", fdn(&me));
    let body = json!({"OptedNotification": [GROUPS[0]]});

    let (st, _) = text(s.req(&app, Method::PUT, &path, false).json(&body).send().await.unwrap()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "no CSRF header");
    let wrong = s.req(&app, Method::PUT, &path, false).header("X-Csrf-Token_roster", "forged").json(&body);
    assert_eq!(wrong.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "wrong CSRF header");
    let (_, got) = app.get(&app.url(&path), &token).await;
    assert_eq!(got["OptedNotification"].as_array().unwrap().len(), 8, "nothing changed");

    let (st, _) = text(s.req(&app, Method::PUT, &path, true).json(&body).send().await.unwrap()).await;
    assert_eq!(st, StatusCode::OK, "right CSRF header");
    let bearer = app.http.put(app.url(&path)).bearer_auth(&token).json(&json!({"OptedNotification": GROUPS}));
    assert_eq!(bearer.send().await.unwrap().status(), StatusCode::OK, "a bearer token needs no CSRF header");

    // GETs need the header only once ReadRequestCSRFSupport is enabled.
    assert_eq!(s.req(&app, Method::GET, &path, false).send().await.unwrap().status(), StatusCode::OK);
    let admin = login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    let sec = "/api/businesses/tenantbusiness.roster/securitysettings";
    let r = admin.req(&app, Method::PUT, sec, true).json(&json!({"ReadRequestCSRFSupport": "com.soa.feature.enabled"}));
    assert_eq!(r.send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(s.req(&app, Method::GET, &path, false).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.req(&app, Method::GET, &path, true).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.http.get(app.url(&path)).bearer_auth(&token).send().await.unwrap().status(), StatusCode::OK);

    // With write CSRF off too, writes need no header.
    let r =
        admin.req(&app, Method::PUT, sec, true).json(&json!({"WriteRequestCSRFSupport": "com.soa.feature.disabled"}));
    assert_eq!(r.send().await.unwrap().status(), StatusCode::OK);
    let (st, _) = text(s.req(&app, Method::PUT, &path, false).json(&body).send().await.unwrap()).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn settings_get_and_put_replace_the_opted_groups() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let path = app.url(&format!("/api/users/{}/settings", fdn(&me)));
    let (st, got) = app.get(&path, &token).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got, json!({"UserID": fdn(&me), "Email": "ann@example.com", "OptedNotification": GROUPS}));

    let chosen = json!({"UserID": fdn(&me), "Email": "ann@example.com", "OptedNotification": [GROUPS[6], GROUPS[1]]});
    let r = app.http.put(&path).bearer_auth(&token).json(&chosen).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), fdn(&me));
    let (_, got) = app.get(&path, &token).await;
    assert_eq!(got["OptedNotification"], json!([GROUPS[1], GROUPS[6]]), "left out means opted out");

    let bad = json!({"OptedNotification": [GROUPS[0], "com.soa.notification.type.nope", "x"]});
    let (st, e) = app.put(&path, &token, bad).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("com.soa.notification.type.nope") && msg.contains("x"), "{msg}");
    let (st, _) = app.put(&path, &token, json!({"UserID": fdn(&app.admin_id), "OptedNotification": []})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a body UserID that differs from the path");
    let (_, got) = app.get(&path, &token).await;
    assert_eq!(got["OptedNotification"], json!([GROUPS[1], GROUPS[6]]), "nothing changed");
    let (st, _) = app.put(&path, &token, json!({"OptedNotification": []})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, got) = app.get(&path, &token).await;
    assert_eq!(got["OptedNotification"], json!([]));
}

#[tokio::test]
async fn self_or_site_admin_and_nobody_else() {
    let app = TestApp::spawn().await;
    let (ann, ann_token) = app.member("ann@example.com", "Ann").await;
    let (bob, _) = app.member("bob@example.com", "Bob").await;
    let ghost = fdn("00000000-0000-0000-0000-000000000000");
    let mut refusals = Vec::new();
    for target in [fdn(&bob), ghost.clone(), "garbage".to_owned(), format!("{bob}.othertenant")] {
        for path in [format!("/api/users/{target}"), format!("/api/users/{target}/settings")] {
            let (st, e) = app.get(&app.url(&path), &ann_token).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{path}");
            refusals.push(e);
        }
        let (st, _) = app
            .put(&app.url(&format!("/api/users/{target}/settings")), &ann_token, json!({"OptedNotification": []}))
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "nothing revealed: {refusals:?}");
    let (st, me) = app.get(&app.url(&format!("/api/users/{}", fdn(&ann))), &ann_token).await;
    assert_eq!((st, me["Email"].as_str()), (StatusCode::OK, Some("ann@example.com")));
    // The site admin reads and changes anyone.
    let (st, b) = app.get(&app.url(&format!("/api/users/{}", fdn(&bob))), &app.admin_token).await;
    assert_eq!((st, b["UserName"].as_str()), (StatusCode::OK, Some("Bob")));
    let (st, _) = app
        .put(
            &app.url(&format!("/api/users/{}/settings", fdn(&bob))),
            &app.admin_token,
            json!({"OptedNotification": []}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = app.get(&app.url(&format!("/api/users/{ghost}/settings")), &app.admin_token).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        app.http.get(app.url(&format!("/api/users/{}", fdn(&ann)))).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn email_changes_follow_the_security_settings_both_ways() {
    let app = TestApp::spawn().await;
    let (ann, ann_token) = app.member("ann@example.com", "Ann").await;
    app.member("bob@example.com", "Bob").await;
    let path = app.url(&format!("/api/users/{}/settings", fdn(&ann)));
    let sec = app.url("/api/businesses/tenantbusiness.roster/securitysettings");
    let email_of = |v: &Value| v["Email"].as_str().unwrap().to_owned();

    // Enabled by default: the user changes its own email, and logs in with it.
    let (st, _) = app.put(&path, &ann_token, json!({"Email": "ann2@example.com"})).await;
    assert_eq!(st, StatusCode::OK);
    assert!(app.login("ann2@example.com", PASSWORD).await.is_ok());
    for (body, want) in [
        (json!({"Email": "not-an-email"}), StatusCode::BAD_REQUEST),
        (json!({"Email": "bob@example.com"}), StatusCode::CONFLICT),
    ] {
        let (st, _) = app.put(&path, &ann_token, body.clone()).await;
        assert_eq!(st, want, "{body}");
    }

    // Disabled: the user is refused, and nothing of the request applies.
    let (st, _) = app.put(&sec, &app.admin_token, json!({"UserModifyEmail": "com.soa.feature.disabled"})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = app.put(&path, &ann_token, json!({"Email": "ann3@example.com", "OptedNotification": []})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    let (_, got) = app.get(&path, &ann_token).await;
    assert_eq!(email_of(&got), "ann2@example.com");
    assert_eq!(got["OptedNotification"].as_array().unwrap().len(), 8);
    // Restating the same email is not a change.
    let (st, _) = app.put(&path, &ann_token, json!({"Email": "ann2@example.com", "OptedNotification": []})).await;
    assert_eq!(st, StatusCode::OK);
    // The site admin may, while SiteAdminModifyEmail is enabled.
    let (st, _) = app.put(&path, &app.admin_token, json!({"Email": "ann4@example.com"})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = app.put(&sec, &app.admin_token, json!({"SiteAdminModifyEmail": "com.soa.feature.disabled"})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = app.put(&path, &app.admin_token, json!({"Email": "ann5@example.com"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, got) = app.get(&path, &app.admin_token).await;
    assert_eq!(email_of(&got), "ann4@example.com");
}

#[tokio::test]
async fn vendor_media_types_are_accepted_and_others_refused() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let path = app.url(&format!("/api/users/{}/settings", fdn(&me)));
    let body = json!({"OptedNotification": [GROUPS[2]]}).to_string();
    for ct in [
        "application/json",
        "application/json; charset=UTF-8",
        "application/vnd.soa.v71+json",
        "application/vnd.soa.v72+json",
        "application/vnd.soa.v80+json",
        "application/vnd.soa.v81+json; charset=utf-8",
    ] {
        let r =
            app.http.put(&path).bearer_auth(&token).header(CONTENT_TYPE, ct).body(body.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{ct}");
    }
    for ct in ["text/plain", "application/xml", "application/vnd.soa.v81+xml", "application/vnd.soa.v99+json"] {
        let r =
            app.http.put(&path).bearer_auth(&token).header(CONTENT_TYPE, ct).body(body.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
    }
}

#[tokio::test]
async fn security_settings_are_for_the_site_admin() {
    let app = TestApp::spawn().await;
    let (_, token) = app.member("ann@example.com", "Ann").await;
    let sec = app.url("/api/businesses/tenantbusiness.roster/securitysettings");
    let (st, s) = app.get(&sec, &app.admin_token).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s["ReadRequestCSRFSupport"], "com.soa.feature.disabled");
    assert_eq!(s["WriteRequestCSRFSupport"], "com.soa.feature.enabled");
    assert_eq!(s["UserModifyEmail"], "com.soa.feature.enabled");
    assert_eq!(s["AuthTokenCookieSameSite"], "Lax");
    let (st, s) = app.put(&sec, &app.admin_token, json!({"ChallengeCount": 5, "CaptchaSiteSecret": "hush"})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (s["ChallengeCount"].as_i64(), s["WriteRequestCSRFSupport"].as_str()),
        (Some(5), Some("com.soa.feature.enabled")),
        "merge"
    );
    assert!(!s.to_string().contains("hush"), "the secret is not read back");
    for (body, field) in [
        (json!({"UserModifyEmail": "yes"}), "UserModifyEmail"),
        (json!({"ChallengeCount": "many"}), "ChallengeCount"),
        (json!({"AuthTokenCookieSameSite": "Sometimes"}), "AuthTokenCookieSameSite"),
    ] {
        let (st, e) = app.put(&sec, &app.admin_token, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(e["message"].as_str().unwrap().contains(field), "{e}");
    }
    assert_eq!(app.get(&sec, &token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.put(&sec, &token, json!({"ChallengeCount": 1})).await.0, StatusCode::UNAUTHORIZED);
    let (st, _) = app.get(&app.url("/api/businesses/other.roster/securitysettings"), &app.admin_token).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, s) = app.get(&sec, &app.admin_token).await;
    assert_eq!(s["ChallengeCount"], 5);
}

#[tokio::test]
async fn renew_logout_and_endsession() {
    let app = TestApp::spawn().await;
    let (me, _) = app.member("ann@example.com", "Ann").await;
    let path = format!("/api/users/{}", fdn(&me));
    let s = login(&app, "ann@example.com", PASSWORD).await.unwrap();
    let r = s.req(&app, Method::POST, "/api/login/renewToken", true).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let renewed_cookies = cookies(r.headers());
    let renewed = Session {
        auth: cookie_value(&renewed_cookies, "AtmoAuthToken_roster").unwrap(),
        csrf: cookie_value(&renewed_cookies, "Csrf-Token_roster"),
        set_cookies: renewed_cookies,
        body: r.json().await.unwrap(),
    };
    assert_ne!(renewed.auth, s.auth);
    assert_eq!(
        s.req(&app, Method::GET, &path, false).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the old session ended"
    );
    assert_eq!(renewed.req(&app, Method::GET, &path, false).send().await.unwrap().status(), StatusCode::OK);

    let r = renewed.req(&app, Method::POST, "/api/login/logout", true).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let expired = cookies(r.headers());
    assert!(expired.iter().any(|c| c.starts_with("AtmoAuthToken_roster=;") && c.contains("Max-Age=0")), "{expired:?}");
    assert_eq!(renewed.req(&app, Method::GET, &path, false).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let third = login(&app, "ann@example.com", PASSWORD).await.unwrap();
    assert_eq!(
        third.req(&app, Method::GET, "/api/login/endsession", false).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(third.req(&app, Method::GET, &path, false).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_site_admin_extends_the_notification_catalog() {
    let app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let group = "com.example.notification.type.release";
    assert_eq!(
        app.put(&app.url(&format!("/api/notificationgroups/{group}")), &token, json!({})).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.put(&app.url(&format!("/api/notificationgroups/{group}")), &app.admin_token, json!({})).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.put(&app.url(&format!("/api/notificationgroups/{group}")), &app.admin_token, json!({})).await.0,
        StatusCode::OK
    );
    let (_, list) = app.get(&app.url("/api/notificationgroups"), &token).await;
    assert_eq!(list["NotificationGroups"].as_array().unwrap().len(), 9);
    let path = app.url(&format!("/api/users/{}/settings", fdn(&me)));
    let (_, got) = app.get(&path, &token).await;
    assert!(got["OptedNotification"].as_array().unwrap().contains(&json!(group)), "defaults cover new groups");
    let (st, _) = app.put(&path, &token, json!({"OptedNotification": [group]})).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn akana_settings_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let (me, token) = app.member("ann@example.com", "Ann").await;
    let path = format!("/api/users/{}/settings", fdn(&me));
    app.put(&app.url(&path), &token, json!({"OptedNotification": [GROUPS[4]]})).await;
    app.put(
        &app.url("/api/businesses/tenantbusiness.roster/securitysettings"),
        &app.admin_token,
        json!({"UserModifyEmail": "com.soa.feature.disabled"}),
    )
    .await;
    app.restart().await;
    let (_, got) = app.get(&app.url(&path), &token).await;
    assert_eq!(got["OptedNotification"], json!([GROUPS[4]]));
    let (_, s) = app.get(&app.url("/api/businesses/tenantbusiness.roster/securitysettings"), &app.admin_token).await;
    assert_eq!(s["UserModifyEmail"], "com.soa.feature.disabled");
}

#[tokio::test]
async fn the_tenant_is_configurable() {
    let db = TestDb::new().await;
    let env = [
        ("ROSTER_TENANT", "acme"),
        ("ROSTER_ADMIN_EMAIL", "boss@example.com"),
        ("ROSTER_ADMIN_PASSWORD", "boss-password-1"),
    ];
    let node = serve(&db.url, &env);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/login", node.base))
        .json(&json!({"email": "boss@example.com", "password": "boss-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let set = cookies(r.headers());
    assert!(
        set.iter().any(|c| c.starts_with("AtmoAuthToken_acme="))
            && set.iter().any(|c| c.starts_with("Csrf-Token_acme=")),
        "{set:?}"
    );
    let body: Value = r.json().await.unwrap();
    assert!(body["userFDN"].as_str().unwrap().ends_with(".acme"));
    assert_eq!(body["loginDomainID"], "siteusers.acme");
    let sec = http.get(format!("{}/api/businesses/tenantbusiness.acme/securitysettings", node.base));
    let auth = cookie_value(&set, "AtmoAuthToken_acme").unwrap();
    assert_eq!(sec.header(COOKIE, format!("AtmoAuthToken_acme={auth}")).send().await.unwrap().status(), StatusCode::OK);
}
