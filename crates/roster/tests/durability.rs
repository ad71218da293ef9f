//! Every write that was acknowledged survives `kill -9` of the server: no
//! answer goes out before its commit. (A killed process leaves the OS page
//! cache intact, so this does not exercise fsync; `synchronous = FULL` is
//! what covers a crash of the machine.)

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{json, Value};
use tokio::sync::Notify;

const ADMIN: &str = "durable-admin@example.com";
const ADMIN_PW: &str = "durable-admin-pw-1";
/// Acknowledged creates before the kill.
const KILL_AFTER: usize = 150;
const WRITERS: usize = 12;

async fn login(http: &reqwest::Client, base: &str) -> (String, String) {
    let token = password_grant(http, base, ADMIN, ADMIN_PW).await.expect("admin login");
    let account = first_account(http, base, &token).await;
    (token, account)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_kill_9() {
    let db = TestDb::new().await;
    let env = [("ROSTER_ADMIN_EMAIL", ADMIN), ("ROSTER_ADMIN_PASSWORD", ADMIN_PW)];
    let mut node = serve(&db.url, &env);
    let http = reqwest::Client::new();
    let (token, account) = login(&http, &node.base).await;
    let users = format!("{}/v2.1/accounts/{account}/users", node.base);

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let enough = Arc::new(Notify::new());
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (http, users, token, acked, enough) =
                (http.clone(), users.clone(), token.clone(), acked.clone(), enough.clone());
            tokio::spawn(async move {
                for i in 0..1000 {
                    let email = format!("w{w}-{i}@example.com");
                    let body = json!({"newUsers": [{"userName": "Durable", "email": email}]});
                    // After the kill every request fails; the writer stops.
                    let Ok(r) = http.post(&users).bearer_auth(&token).json(&body).send().await else {
                        return;
                    };
                    let Ok(created) = r.json::<Value>().await else { return };
                    if created["newUsers"][0]["userId"].is_string() {
                        let mut acked = acked.lock().unwrap();
                        acked.push(email);
                        if acked.len() == KILL_AFTER {
                            enough.notify_one();
                        }
                    }
                }
            })
        })
        .collect();
    enough.notified().await;
    node.child.kill().expect("SIGKILL"); // mid-load: other writers have requests in flight
    node.child.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(acked.len() >= KILL_AFTER);

    let node = serve(&db.url, &env);
    let (token, account) = login(&http, &node.base).await;
    let mut stored = HashSet::new();
    let mut start = 0;
    loop {
        let page: Value = http
            .get(format!("{}/v2.1/accounts/{account}/users?count=100&start_position={start}", node.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["users"].as_array().unwrap();
        stored.extend(items.iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        if page["nextUri"].is_null() {
            break;
        }
        start += items.len();
    }
    let lost: Vec<&String> = acked.iter().filter(|e| !stored.contains(*e)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes lost: {lost:?}", lost.len(), acked.len());
}
