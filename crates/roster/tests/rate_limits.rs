//! DocuSign-style rate limits per account.

mod common;

use common::*;
use reqwest::StatusCode;
use roster_api::rate_limit::RateLimits;
use roster_api::ApiConfig;
use serde_json::Value;

/// Windows so long that a test never straddles two.
const FOREVER: i64 = 1_000_000_000;

async fn limited(hourly: Option<u32>, burst: Option<u32>) -> TestApp {
    let limits = RateLimits { hourly, burst, hour_seconds: FOREVER, burst_seconds: FOREVER };
    TestApp::spawn_with(
        TestDb::new().await,
        Default::default(),
        ApiConfig { rate_limits: limits, ..Default::default() },
    )
    .await
}

fn num(r: &reqwest::Response, name: &str) -> i64 {
    r.headers()[name].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn limits_are_off_by_default() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.ds("/users")).bearer_auth(&app.admin_token).send().await.unwrap();
    assert!(r.headers().get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn every_response_carries_the_counts_and_the_hourly_limit_answers_429() {
    let app = limited(Some(3), Some(100)).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = app.http.get(app.ds("/users")).bearer_auth(&app.admin_token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!((num(&r, "x-ratelimit-limit"), num(&r, "x-burstlimit-limit")), (3, 100));
        let reset = num(&r, "x-ratelimit-reset");
        assert!(reset > 0 && reset % FOREVER == 0, "epoch seconds at the window's end: {reset}");
        remaining.push((num(&r, "x-ratelimit-remaining"), num(&r, "x-burstlimit-remaining")));
    }
    assert_eq!(remaining, [(2, 99), (1, 98), (0, 97)]);
    let r = app.http.get(app.ds("/users")).bearer_auth(&app.admin_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 0);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "HOURLY_APIINVOCATION_LIMIT_EXCEEDED");
    // Health and OAuth are not account calls.
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn the_burst_limit_answers_429_with_its_own_code() {
    let app = limited(Some(100), Some(2)).await;
    for _ in 0..2 {
        assert_eq!(app.get(&app.ds(""), &app.admin_token).await.0, StatusCode::OK);
    }
    let (s, b) = app.get(&app.ds(""), &app.admin_token).await;
    assert_eq!((s, code(&b)), (StatusCode::TOO_MANY_REQUESTS, "BURST_APIINVOCATION_LIMIT_EXCEEDED"));
}

#[tokio::test]
async fn counts_are_per_account_only_count_members_and_hold_across_nodes() {
    let app = limited(Some(4), None).await;
    let (other, other_token, _) = app.other_account("Beta", "beta@example.com").await;
    // Another account's token on Acme's paths spends nothing of Acme's quota.
    for _ in 0..5 {
        let (s, _) = app.get(&app.ds("/users"), &other_token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    // Several nodes run on PostgreSQL; a SQLite database has one server.
    let node2 = if app.db.is_postgres() { Some(app.second_node().await) } else { None };
    let base2 = node2.as_ref().map_or(app.base.clone(), |(_, base)| base.clone());
    let users_on = |base: &str| format!("{base}/restapi/v2.1/accounts/{}/users", app.account_id);
    let mut statuses = Vec::new();
    for base in [&app.base, &base2, &app.base, &base2, &app.base] {
        statuses.push(app.get(&users_on(base), &app.admin_token).await.0.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429], "one count shared by both nodes");
    // Beta has its own quota, and the GUID names the same account as the number.
    let (s, _) = app.get(&app.url(&format!("/restapi/v2.1/accounts/{other}/users")), &other_token).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        app.get(&app.url(&format!("/restapi/v2.1/accounts/{}/users", app.account_guid)), &app.admin_token).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    if let Some((node2, _)) = node2 {
        node2.stop().await.unwrap();
    }
}
