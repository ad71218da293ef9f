//! `roster-bench`: starts Roster (or targets a running one), seeds N users
//! through the public API, then runs each scenario as a closed loop of C
//! connections for D seconds, after a warm-up it does not record. Prints a
//! table and writes JSON: requests per second, p50/p99/max latency, errors,
//! and the server's peak RSS; every figure is also given as a ratio to the
//! `GET /healthz` floor of the same run, since shared machines drift.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Benchmark a Roster server")]
struct Args {
    /// Database for the server the bench starts (default: a new SQLite file in a temp dir).
    #[arg(long)]
    database: Option<String>,
    /// The roster binary to start (default: the one next to this program).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Users to seed.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Concurrent connections per scenario.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Concurrent connections of the heavy scenarios (bulk calls, lists),
    /// whose targets are the latency of one call: with many at once they
    /// measure queueing behind the single writer instead.
    #[arg(long, default_value_t = 1)]
    heavy_connections: usize,
    /// Threads of the load generator (default: one per core). With 1, as
    /// `wrk -t1 -c64` measured the targets' reference figures, the generator
    /// takes at most one core and the server has the rest.
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds each scenario runs before it is measured, unrecorded: its
    /// first pass over the sample is each user's first read or write, which
    /// fills the server's caches (a cold read renders the user and caches
    /// it), and at 64 connections those first requests sat at the 99th
    /// percentile of the whole scenario. `--warmup 0` measures them too.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Where to write the JSON results.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only these scenarios (comma-separated names); the floor always runs.
    #[arg(long)]
    only: Option<String>,
    /// Also measure `roster-reference` (next to this program), a bare server
    /// with Roster's group commit and nothing else, on `--users` rows of a
    /// new SQLite file: its floor and its durable PUT of one flag, the
    /// physical reference of the durable-write target, in the same run.
    #[arg(long)]
    reference: bool,
}

const ADMIN: &str = "bench@example.com";
const PASSWORD: &str = "bench-password-1";
const GROUP: &str = "bench";
const HEAVY: [&str; 4] = ["bulk_put_100", "list_first", "list_last", "bulk_create_500"];

#[derive(Serialize)]
struct Outcome {
    scenario: &'static str,
    connections: usize,
    requests: u64,
    errors: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    rps_vs_floor: f64,
    server_peak_rss_mb: Option<f64>,
}

#[derive(Serialize)]
struct Report {
    database: String,
    users: usize,
    connections: usize,
    heavy_connections: usize,
    threads: usize,
    duration_s: f64,
    warmup_s: f64,
    seed_seconds: f64,
    startup_ms: f64,
    scenarios: Vec<Outcome>,
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temp dir removed on drop (the bench needs nothing more of it).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database to use: the one given, or a new SQLite file (removed with the `TempDir`).
fn database(args: &Args) -> anyhow::Result<(String, Option<TempDir>)> {
    Ok(match &args.database {
        Some(db) => (db.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("roster-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            (format!("sqlite://{}/roster.db", dir.display()), Some(TempDir(dir)))
        }
    })
}

/// Starts `roster serve` on `db` and returns it with the time it took to listen.
fn start(args: &Args, db: &str) -> anyhow::Result<(Server, Duration)> {
    let bin = match &args.server {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("roster"),
    };
    let mut command = Command::new(&bin);
    command.args(["serve", "--listen", "127.0.0.1:0", "--database", db]);
    command.env("ROSTER_ADMIN_EMAIL", ADMIN).env("ROSTER_ADMIN_PASSWORD", PASSWORD).env("RUST_LOG", "warn");
    spawn(command, "roster listening on ")
}

/// Runs `command` until it prints `listening` and the base URL after it.
fn spawn(mut command: Command, listening: &str) -> anyhow::Result<(Server, Duration)> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", command.get_program().to_string_lossy()))?;
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
    let base = loop {
        let Some(line) = lines.next() else { bail!("{listening:?} never came: the server exited") };
        if let Some(b) = line?.strip_prefix(listening) {
            break b.to_owned();
        }
    };
    Ok((Server { child, base }, started.elapsed()))
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A request of the set-up: its JSON answer, or the error it got.
async fn call(connection: &mut Connection, target: &Target, load: Load) -> anyhow::Result<Value> {
    let (status, body) = connection.exchange(target, load).await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(if body.is_empty() { Value::Null } else { serde_json::from_slice(&body)? })
}

/// A request, made ready before it is sent: in the load phase, before it is
/// timed, with its path parsed and its fixed body serialized once, not per
/// request (parsing the URL, host included, took a tenth of the load
/// generator's time, and it shares the CPU with the server).
#[derive(Clone)]
struct Load {
    method: Method,
    /// The path and query, sent as they are (HTTP/1.1's origin form).
    path: Uri,
    body: Option<Bytes>,
    group: bool,
}

impl Load {
    fn get(path: &Uri, group: bool) -> Load {
        Load { method: Method::GET, path: path.clone(), body: None, group }
    }

    fn json(method: Method, path: &Uri, body: &Value, group: bool) -> Load {
        Load { method, path: path.clone(), body: Some(serde_json::to_vec(body).expect("JSON").into()), group }
    }
}

const GROUP_HEADER: &str = "X-DocuSign-User-Settings-Key";

/// The server the load phase sends to, and the headers every request carries.
#[derive(Clone)]
struct Target {
    addr: String,
    host: HeaderValue,
    authorization: HeaderValue,
}

/// One connection to the server, as `wrk` keeps one per client: each
/// request is written on it and its answer read back, with none of a pooled
/// client's work per request (its pool's lock, redirects, URL handling). The
/// load generator shares the two cores with the server; reqwest's per-request
/// cost was about three times wrk's.
struct Connection(SendRequest<Full<Bytes>>);

impl Connection {
    async fn open(target: &Target) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(&target.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Connection(sender))
    }

    /// Sends `load` and reads its whole answer: the status and the body.
    async fn exchange(&mut self, target: &Target, load: Load) -> anyhow::Result<(StatusCode, Bytes)> {
        let json = load.body.is_some();
        let mut req = Request::new(Full::new(load.body.unwrap_or_default()));
        *req.method_mut() = load.method;
        *req.uri_mut() = load.path;
        let headers = req.headers_mut();
        headers.insert(HOST, target.host.clone());
        headers.insert(AUTHORIZATION, target.authorization.clone());
        if json {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if load.group {
            headers.insert(GROUP_HEADER, HeaderValue::from_static(GROUP));
        }
        // Ready once the answer before was read; an error if the server closed it.
        self.0.ready().await?;
        let response = self.0.send_request(req).await?;
        let status = response.status();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}

/// The path of request `i` among a scenario's, cycling over the sample.
fn pick(paths: &[Uri], i: u64) -> &Uri {
    &paths[(i as usize) % paths.len()]
}

/// One request of a scenario; `i` numbers the requests of a worker.
type Step = Arc<dyn Fn(u64) -> Load + Send + Sync>;

/// PUTs of one flag, `{"templateApplyNotify": ...}`, to each of `paths` in
/// turn. Each pass over them sets the flag the other way, so every PUT
/// changes it.
fn flag_puts(paths: Arc<Vec<Uri>>) -> Step {
    let bodies = [true, false].map(|on| Bytes::from(json!({"templateApplyNotify": on}).to_string()));
    let rows = paths.len() as u64;
    Arc::new(move |i| Load {
        method: Method::PUT,
        path: pick(&paths, i).clone(),
        body: Some(bodies[(i / rows % 2) as usize].clone()),
        group: false,
    })
}

async fn run(target: &Target, connections: usize, warmup: Duration, duration: Duration, step: Step) -> Measured {
    let measured_from = Instant::now() + warmup;
    let deadline = measured_from + duration;
    let counter = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (target, step, counter) = (target.clone(), step.clone(), counter.clone());
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
                let mut errors = 0;
                let mut connection = None;
                while Instant::now() < deadline {
                    let open = match connection.take() {
                        Some(open) => Ok(open),
                        None => Connection::open(&target).await,
                    };
                    let i = counter.fetch_add(1, Ordering::Relaxed);
                    let load = step(i);
                    let t = Instant::now();
                    // The body is read (the whole answer is timed) but not parsed.
                    let ok = match open {
                        Ok(mut open) => {
                            let sent = open.exchange(&target, load).await;
                            // A connection that failed is dropped: the next request opens another.
                            if sent.is_ok() {
                                connection = Some(open);
                            }
                            sent.is_ok_and(|(status, _)| status.is_success())
                        }
                        Err(_) => false,
                    };
                    if t >= measured_from {
                        hist.record(t.elapsed().as_micros().max(1) as u64).expect("in range");
                    }
                    // A failure during the warm-up counts too.
                    errors += u64::from(!ok);
                }
                (hist, errors)
            })
        })
        .collect();
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut errors = 0;
    for w in workers {
        let (h, e) = w.await.expect("worker");
        latencies.add(h).expect("same bounds");
        errors += e;
    }
    Measured { seconds: measured_from.elapsed().as_secs_f64(), latencies, errors }
}

/// Runs scenario `name` on `server` and gives its figures, its rate also as
/// a ratio to `floor` (0 for the floor itself, whose ratio is 1).
async fn measure(
    name: &'static str,
    target: &Target,
    connections: usize,
    (warmup, duration): (Duration, Duration),
    step: Step,
    floor: f64,
    server: &Server,
) -> Outcome {
    let Measured { seconds, latencies: hist, errors } = run(target, connections, warmup, duration, step).await;
    let requests = hist.len();
    let rps = requests as f64 / seconds;
    Outcome {
        scenario: name,
        connections,
        requests,
        errors,
        rps,
        p50_ms: hist.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: hist.max() as f64 / 1000.0,
        rps_vs_floor: if floor > 0.0 { rps / floor } else { 1.0 },
        server_peak_rss_mb: peak_rss_mb(server.child.id()),
    }
}

/// `--reference`: `roster-reference`'s floor and durable PUTs (ratios to its
/// own floor), on a new SQLite file of `--users` rows, over a sample of 1,000
/// as Roster's scenarios.
async fn reference(args: &Args, roster: &Target, timing: (Duration, Duration)) -> anyhow::Result<Vec<Outcome>> {
    let dir = TempDir(std::env::temp_dir().join(format!("roster-bench-{}-reference", std::process::id())));
    std::fs::create_dir_all(&dir.0)?;
    let mut command = Command::new(std::env::current_exe()?.with_file_name("roster-reference"));
    command.arg("--database").arg(dir.0.join("reference.db")).args(["--rows", &args.users.to_string()]);
    let (server, _) = spawn(command, "reference listening on ")?;
    let addr = server.base.strip_prefix("http://").context("the reference listens on plain HTTP")?.to_owned();
    // Roster's token too, so that its requests are as long.
    let target = Target { host: HeaderValue::from_str(&addr)?, addr, authorization: roster.authorization.clone() };
    let floor_step: Step = Arc::new(|_| Load::get(&Uri::from_static("/healthz"), false));
    let floor = measure("reference_healthz", &target, args.connections, timing, floor_step, 0.0, &server).await;
    let rows = (0..args.users).step_by((args.users / 1000).max(1)).map(|id| format!("/rows/{id}").parse());
    let puts = flag_puts(Arc::new(rows.collect::<Result<_, _>>()?));
    let put = measure("reference_put", &target, args.connections, timing, puts, floor.rps, &server).await;
    Ok(vec![floor, put])
}

/// What one scenario's measured window recorded.
struct Measured {
    seconds: f64,
    /// One entry per request sent in the window, in µs.
    latencies: Histogram<u64>,
    errors: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut runtime = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if threads > 1 {
        runtime.worker_threads(threads);
    }
    runtime.enable_all().build()?.block_on(bench(args, threads))
}

async fn bench(args: Args, threads: usize) -> anyhow::Result<()> {
    let (db, _dir) = database(&args)?;
    let (server, _) = start(&args, &db)?;
    let base = server.base.clone();
    // The one form-encoded request, through reqwest; every other goes through a [`Connection`].
    let token: Value = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .form(&[("grant_type", "password"), ("username", ADMIN), ("password", PASSWORD)])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().context("token")?.to_owned();
    let authorization = HeaderValue::from_str(&format!("Bearer {token}"))?;
    let addr = base.strip_prefix("http://").context("the server listens on plain HTTP")?.to_owned();
    let target = Target { host: HeaderValue::from_str(&addr)?, addr, authorization };
    let mut connection = Connection::open(&target).await?;
    let info = call(&mut connection, &target, Load::get(&Uri::from_static("/oauth/userinfo"), false)).await?;
    let account = info["accounts"][0]["account_id"].as_str().context("account")?.to_owned();
    let api = format!("/restapi/v2.1/accounts/{account}");

    // Seed through the public API: bulk creates of 500, four in flight at
    // any time (a new one starts as soon as the oldest is answered).
    let seeding = Instant::now();
    let create: Uri = format!("{api}/users").parse()?;
    let batches = args.users.div_ceil(500);
    let mut ids: Vec<String> = Vec::with_capacity(args.users);
    let mut pending = std::collections::VecDeque::new();
    // The connections of the batches in flight, reused by the next ones.
    let mut idle = vec![connection];
    for b in 0..batches {
        let n = 500.min(args.users - b * 500);
        let users: Vec<Value> = (0..n)
            .map(|i| {
                let k = b * 500 + i;
                json!({"userName": format!("User {k}"), "email": format!("user{k}@bench.example"),
                       "userSettings": {"locale": "fr"}, "customSettings": [{"name": "team", "value": "blue"}]})
            })
            .collect();
        let mut connection = match idle.pop() {
            Some(connection) => connection,
            None => Connection::open(&target).await?,
        };
        let (target, create) = (target.clone(), create.clone());
        pending.push_back(tokio::spawn(async move {
            let load = Load::json(Method::POST, &create, &json!({"newUsers": users}), false);
            let created = call(&mut connection, &target, load).await;
            (connection, created)
        }));
        while pending.len() == 4 || (b + 1 == batches && !pending.is_empty()) {
            let (connection, created) = pending.pop_front().expect("a pending batch").await?;
            idle.push(connection);
            let created = created?;
            for u in created["newUsers"].as_array().context("newUsers")? {
                ids.push(u["userId"].as_str().context("a user failed to seed")?.to_owned());
            }
        }
    }
    let seed_seconds = seeding.elapsed().as_secs_f64();
    // One the seeding just used: the server closes a connection left idle
    // for its header-read timeout (10 s), which seeding 1,000,000 outlasts.
    let mut connection = idle.pop().context("a connection")?;
    // The per-user scenarios' URLs, parsed once: one per user of the sample
    // they cycle over, each user with a grouped custom setting.
    let paths = |suffix: &str| -> anyhow::Result<Arc<Vec<Uri>>> {
        let sample = ids.iter().step_by((ids.len() / 1000).max(1));
        let parsed = sample.map(|id| format!("{api}/users/{id}{suffix}").parse::<Uri>());
        Ok(Arc::new(parsed.collect::<Result<_, _>>()?))
    };
    let (users, settings, custom) = (paths("")?, paths("/settings")?, paths("/custom_settings")?);
    let body = json!({"customSettings": [{"name": "color", "value": "red"}]});
    for path in custom.iter() {
        call(&mut connection, &target, Load::json(Method::PUT, path, &body, true)).await?;
    }
    let created = Arc::new(AtomicU64::new(0));
    let last = args.users.saturating_sub(99);
    let scenarios: Vec<(&'static str, Step)> = vec![
        ("healthz", {
            let load = Load::get(&Uri::from_static("/healthz"), false);
            Arc::new(move |_| load.clone())
        }),
        ("get_user", Arc::new(move |i| Load::get(pick(&users, i), false))),
        ("get_settings", {
            let settings = settings.clone();
            Arc::new(move |i| Load::get(pick(&settings, i), false))
        }),
        ("get_custom_group", {
            let custom = custom.clone();
            Arc::new(move |i| Load::get(pick(&custom, i), true))
        }),
        ("put_settings", flag_puts(settings)),
        ("put_custom", {
            Arc::new(move |i| {
                let body = json!({"customSettings": [{"name": "color", "value": i.to_string()}]});
                Load::json(Method::PUT, pick(&custom, i), &body, true)
            })
        }),
        ("bulk_put_100", {
            let (url, ids) = (create.clone(), Arc::new(ids.clone()));
            Arc::new(move |i| {
                let start = (i as usize * 100) % ids.len().max(1);
                let users: Vec<Value> = ids
                    .iter()
                    .cycle()
                    .skip(start)
                    .take(100.min(ids.len()))
                    .map(|id| json!({"userId": id, "jobTitle": format!("T{i}")}))
                    .collect();
                Load::json(Method::PUT, &url, &json!({"users": users}), false)
            })
        }),
        ("list_first", {
            let load = Load::get(&format!("{api}/users?count=100").parse()?, false);
            Arc::new(move |_| load.clone())
        }),
        ("list_last", {
            let load = Load::get(&format!("{api}/users?count=100&start_position={last}").parse()?, false);
            Arc::new(move |_| load.clone())
        }),
        ("bulk_create_500", {
            Arc::new(move |_| {
                let b = created.fetch_add(1, Ordering::Relaxed);
                let users: Vec<Value> = (0..500)
                    .map(|k| json!({"userName": "New", "email": format!("new{b}-{k}@bench.example")}))
                    .collect();
                Load::json(Method::POST, &create, &json!({"newUsers": users}), false)
            })
        }),
    ];
    let only: Option<Vec<String>> = args.only.as_ref().map(|o| o.split(',').map(|s| s.trim().to_owned()).collect());
    let (warmup, duration) = (Duration::from_secs_f64(args.warmup), Duration::from_secs_f64(args.duration));
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut floor = 0.0;
    for (name, step) in scenarios {
        if name != "healthz" && only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let connections = if HEAVY.contains(&name) { args.heavy_connections } else { args.connections };
        let outcome = measure(name, &target, connections, (warmup, duration), step, floor, &server).await;
        if name == "healthz" {
            floor = outcome.rps;
        }
        outcomes.push(outcome);
    }

    // Start-up on the seeded database: stop the server and time a new one.
    drop(server);
    let (restarted, startup) = start(&args, &db)?;
    drop(restarted);
    if args.reference {
        outcomes.extend(reference(&args, &target, (warmup, duration)).await?);
    }
    println!(
        "database {db}; {} users seeded in {seed_seconds:.1} s; restart on it in {:.0} ms; {:.1} s per scenario after {:.1} s of warm-up",
        args.users,
        startup.as_secs_f64() * 1000.0,
        args.duration,
        args.warmup
    );
    println!(
        "{:<18} {:>5} {:>9} {:>7} {:>10} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "scenario", "conns", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms", "vs floor", "peak MB"
    );
    for o in &outcomes {
        println!(
            "{:<18} {:>5} {:>9} {:>7} {:>10.0} {:>8.2} {:>8.2} {:>9.2} {:>9.3} {:>9.1}",
            o.scenario,
            o.connections,
            o.requests,
            o.errors,
            o.rps,
            o.p50_ms,
            o.p99_ms,
            o.max_ms,
            o.rps_vs_floor,
            o.server_peak_rss_mb.unwrap_or(0.0)
        );
    }
    let report = Report {
        database: db,
        users: args.users,
        connections: args.connections,
        heavy_connections: args.heavy_connections,
        threads,
        duration_s: args.duration,
        warmup_s: args.warmup,
        seed_seconds,
        startup_ms: startup.as_secs_f64() * 1000.0,
        scenarios: outcomes,
    };
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    if report.scenarios.iter().any(|o| o.errors > 0) {
        bail!("some requests failed");
    }
    Ok(())
}
