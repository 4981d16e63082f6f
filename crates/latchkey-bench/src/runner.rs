//! The scenarios: which deployments to set up, what each scenario sends, the baseline run of
//! the same shape, and what is recorded for the report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use serde::Serialize;

use crate::load::{self, LoadResult, LoadSettings, People, Workload};
use crate::procs;
use crate::setup::{self, Binaries, Deployment, PgDatabase, Service, Tokens};
use crate::wrk::{self, WrkResult};

/// Every scenario, in the order they run.
pub(crate) const SCENARIOS: &[&str] = &[
    "user",
    "refresh",
    "verify",
    "login-new",
    "login-returning",
    "user-1m",
    "refresh-1m",
    "user-pg",
    "refresh-pg",
];

/// What a run does.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) settings: LoadSettings,
    pub(crate) only: Vec<String>,
    pub(crate) postgres: Option<String>,
    /// Users seeded for the ordinary scenarios (and the scale comparison's small side).
    pub(crate) users_small: u64,
    /// Users (and sessions) seeded for the `-1m` scenarios.
    pub(crate) users_large: u64,
    /// Access tokens in the pool of `user` and `verify` (distinct signed-in users).
    pub(crate) pool: u64,
    pub(crate) latchkey: Option<PathBuf>,
    /// Also run the wrk cross-check of `user` (one token, our generator and wrk).
    pub(crate) wrk: bool,
    /// Extra `LATCHKEY_*` settings for every latchkey started.
    pub(crate) extra_env: Vec<(String, String)>,
}

impl Options {
    fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }
}

/// The request shapes a baseline run is made for: the same requests as the latchkey scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    UserGet,
    RefreshPost,
    VerifyPost,
    LoginPost,
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Self::UserGet => "baseline GET (as user)",
            Self::RefreshPost => "baseline POST (as refresh)",
            Self::VerifyPost => "baseline POST (as verify)",
            Self::LoginPost => "baseline POST (as login)",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    pub(crate) target: String,
    pub(crate) db: String,
    pub(crate) users_in_db: u64,
    pub(crate) requests_per_s: f64,
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) peak_rss_mb: f64,
    pub(crate) server_cpu_s: f64,
    pub(crate) server_cpu_per_request_ms: f64,
    pub(crate) generator_cpu_s: f64,
    pub(crate) idp_cpu_s: Option<f64>,
    /// CPU seconds the rest of the machine used during the window: everything busy minus the
    /// server, the load generator and the identity provider. Well above zero means another
    /// program competed for the two cores and the row is noisy.
    pub(crate) other_cpu_s: f64,
    /// latchkey's requests/s over the baseline's for the same shape.
    pub(crate) ratio_to_baseline: Option<f64>,
    pub(crate) baseline_requests_per_s: Option<f64>,
    pub(crate) start_to_ready_ms: Option<f64>,
    pub(crate) error_samples: Vec<String>,
}

/// A measured start of latchkey.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Start {
    pub(crate) deployment: String,
    pub(crate) existing_database: bool,
    pub(crate) users_in_db: u64,
    pub(crate) ready_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Seeding {
    pub(crate) deployment: String,
    pub(crate) users: u64,
    pub(crate) sessions: u64,
    pub(crate) seconds: f64,
}

/// Everything a run found.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Outcome {
    pub(crate) rows: Vec<Row>,
    pub(crate) starts: Vec<Start>,
    pub(crate) seeding: Vec<Seeding>,
    pub(crate) notes: Vec<String>,
}

struct Stage<'a> {
    opts: &'a Options,
    bins: Binaries,
    idp: Service,
    baseline: Service,
    baselines: HashMap<Shape, Row>,
    outcome: Outcome,
    work: &'a Path,
}

/// Runs the selected scenarios; `work` holds data dirs and logs.
pub(crate) async fn run(opts: &Options, work: &Path) -> anyhow::Result<Outcome> {
    for name in &opts.only {
        if !SCENARIOS.contains(&name.as_str()) {
            bail!("unknown scenario {name:?}; known: {}", SCENARIOS.join(", "));
        }
    }
    let bins = Binaries::locate(opts.latchkey.clone())?;
    let idp = setup::start_idp(&bins, work).await?;
    let baseline = setup::start_baseline(&bins, work).await?;
    let mut stage = Stage {
        opts,
        bins,
        idp,
        baseline,
        baselines: HashMap::new(),
        outcome: Outcome::default(),
        work,
    };

    let small = ["user", "refresh", "verify", "login-new", "login-returning"];
    if small.iter().any(|s| opts.wants(s)) {
        stage
            .deployment("sqlite", "sqlite", None, opts.users_small, &small)
            .await?;
    }
    if ["user-1m", "refresh-1m"].iter().any(|s| opts.wants(s)) {
        stage
            .deployment(
                "sqlite-1m",
                "sqlite",
                None,
                opts.users_large,
                &["user-1m", "refresh-1m"],
            )
            .await?;
    }
    if ["user-pg", "refresh-pg"].iter().any(|s| opts.wants(s)) {
        match opts.postgres.as_deref() {
            Some(base) => {
                let db = PgDatabase::create(base).await?;
                let url = db.url.clone();
                let ran = stage
                    .deployment(
                        "postgres",
                        "postgres",
                        Some(url),
                        opts.users_small,
                        &["user-pg", "refresh-pg"],
                    )
                    .await;
                db.drop_now().await?;
                ran?;
            }
            None => stage.outcome.notes.push(
                "PostgreSQL scenarios skipped: neither --postgres nor LATCHKEY_TEST_DATABASE_URL given"
                    .into(),
            ),
        }
    }
    stage.idp.guard.stop()?;
    stage.baseline.guard.stop()?;
    Ok(stage.outcome)
}

impl Stage<'_> {
    /// Sets up one deployment (first start, seeding, second start, token pools) and runs
    /// its scenarios that were asked for, each against a freshly started latchkey.
    async fn deployment(
        &mut self,
        name: &str,
        db: &str,
        database_url: Option<String>,
        users: u64,
        scenarios: &[&str],
    ) -> anyhow::Result<()> {
        let data_dir = self.work.join(name);
        std::fs::create_dir_all(&data_dir)?;
        let dep = Deployment::new(
            name,
            &self.bins,
            self.idp.addr,
            data_dir,
            database_url,
            self.opts.extra_env.clone(),
        );
        eprintln!("[{name}] first start, seeding {users} users with a session each ...");

        let mut first = dep.start().await?;
        self.record_start(&dep, false, 0, &first);
        first.guard.stop()?;

        let took = dep.seed(0, users).await?;
        self.outcome.seeding.push(Seeding {
            deployment: name.to_owned(),
            users,
            sessions: users,
            seconds: took.as_secs_f64(),
        });
        eprintln!("[{name}] seeded in {:.1} s", took.as_secs_f64());

        let mut second = dep.start().await?;
        self.record_start(&dep, true, users, &second);
        let connections = self.opts.settings.connections as u64;
        let pool = setup::sign_in_seeded(
            second.addr,
            self.idp.addr,
            setup::spread(users, self.opts.pool, 0),
        )
        .await
        .context("signing in the token pool")?;
        let chains = setup::sign_in_seeded(
            second.addr,
            self.idp.addr,
            setup::spread(users, connections, 1),
        )
        .await
        .context("signing in the refresh chains")?;
        if (chains.len() as u64) < connections {
            bail!("{users} users are too few for {connections} refresh chains");
        }
        // The answers the benchmark relies on, once, before measuring anything.
        self.check_answers(second.addr, &pool).await?;
        second.guard.stop()?;

        let user_requests = Arc::new(
            pool.iter()
                .map(|t| load::user_request(&t.access_token))
                .collect::<anyhow::Result<Vec<_>>>()?,
        );
        let verify_requests = Arc::new(
            pool.iter()
                .map(|t| load::verify_request(&t.access_token))
                .collect::<anyhow::Result<Vec<_>>>()?,
        );
        let chain_tokens = Arc::new(
            chains
                .iter()
                .map(|t| t.refresh_token.clone())
                .collect::<Vec<_>>(),
        );
        let tag = format!("{:08x}", rand::random::<u32>());

        for &scenario in scenarios {
            if !self.opts.wants(scenario) {
                continue;
            }
            let (shape, workload) = match scenario.split('-').next().unwrap_or_default() {
                "user" => (
                    Shape::UserGet,
                    Workload::Pool {
                        requests: user_requests.clone(),
                    },
                ),
                "refresh" => (
                    Shape::RefreshPost,
                    Workload::Chains {
                        first_tokens: chain_tokens.clone(),
                        follow: true,
                    },
                ),
                "verify" => (
                    Shape::VerifyPost,
                    Workload::Pool {
                        requests: verify_requests.clone(),
                    },
                ),
                "login" => {
                    let people = if scenario == "login-new" {
                        People::New { tag: tag.clone() }
                    } else {
                        People::Returning { count: users }
                    };
                    (
                        Shape::LoginPost,
                        Workload::Login {
                            idp: Some(self.idp.addr),
                            people,
                            counter: Arc::new(AtomicU64::new(0)),
                        },
                    )
                }
                other => return Err(anyhow!("no workload for {other}")),
            };
            let baseline = self.baseline_for(shape, &workload).await?;
            eprintln!("[{name}] {scenario} ...");
            let mut row = self
                .measure(
                    &dep,
                    scenario,
                    db,
                    users,
                    &workload,
                    shape == Shape::LoginPost,
                )
                .await?;
            row.ratio_to_baseline = Some(row.requests_per_s / baseline.requests_per_s.max(1e-9));
            row.baseline_requests_per_s = Some(baseline.requests_per_s);
            eprintln!(
                "[{name}] {scenario}: {:.0} req/s ({:.2} of baseline), p99 {:.2} ms, {} errors",
                row.requests_per_s,
                row.ratio_to_baseline.unwrap_or_default(),
                row.p99_ms,
                row.errors
            );
            self.outcome.rows.push(row);
        }
        if self.opts.wrk && scenarios.contains(&"user") && self.opts.wants("user") {
            let first = pool.first().ok_or_else(|| anyhow!("empty token pool"))?;
            self.wrk_cross_check(&dep, db, users, &first.access_token)
                .await?;
        }
        Ok(())
    }

    /// `GET /auth/user/` with one token, by our generator and by wrk, against a fresh latchkey
    /// each, and wrk against the baseline.
    async fn wrk_cross_check(
        &mut self,
        dep: &Deployment,
        db: &str,
        users: u64,
        token: &str,
    ) -> anyhow::Result<()> {
        if !wrk::available() {
            self.outcome
                .notes
                .push("wrk cross-check skipped: wrk is not installed (apt-get install wrk)".into());
            return Ok(());
        }
        let settings = self.opts.settings;
        let one = Workload::Pool {
            requests: Arc::new(vec![load::user_request(token)?]),
        };
        let baseline = self.baseline_for(Shape::UserGet, &one).await?;
        eprintln!("[{}] user-1token (latchkey-bench) ...", dep.name);
        let mut ours = self
            .measure(dep, "user-1token (latchkey-bench)", db, users, &one, false)
            .await?;
        ours.ratio_to_baseline = Some(ours.requests_per_s / baseline.requests_per_s.max(1e-9));
        ours.baseline_requests_per_s = Some(baseline.requests_per_s);
        self.outcome.rows.push(ours);

        eprintln!("[{}] user-1token (wrk) ...", dep.name);
        let mut svc = dep.start().await?;
        self.record_start(dep, true, users, &svc);
        let pid = svc.guard.pid();
        if !settings.warmup.is_zero() {
            wrk::run(svc.addr, token, settings.connections, settings.warmup).await?;
        }
        let before = procs::cpu_time(pid)?;
        let measured = wrk::run(svc.addr, token, settings.connections, settings.duration).await?;
        let cpu = procs::cpu_time(pid)?.saturating_sub(before);
        svc.guard.check_running()?;
        let rss = procs::peak_rss(pid)?;
        svc.guard.stop()?;

        eprintln!("[baseline] baseline GET (wrk) ...");
        let base_pid = self.baseline.guard.pid();
        procs::reset_peak_rss(base_pid);
        let base_before = procs::cpu_time(base_pid)?;
        let base = wrk::run(
            self.baseline.addr,
            token,
            settings.connections,
            settings.duration,
        )
        .await?;
        let base_cpu = procs::cpu_time(base_pid)?.saturating_sub(base_before);
        let base_rss = procs::peak_rss(base_pid)?;

        let mut row = wrk_row(
            "user-1token (wrk)",
            &dep.name,
            db,
            users,
            &measured,
            cpu,
            rss,
        );
        row.ratio_to_baseline = Some(measured.requests_per_s / base.requests_per_s.max(1e-9));
        row.baseline_requests_per_s = Some(base.requests_per_s);
        row.start_to_ready_ms = Some(svc.ready_after.as_secs_f64() * 1000.0);
        self.outcome.rows.push(row);
        self.outcome.rows.push(wrk_row(
            "baseline GET (wrk)",
            "baseline",
            "-",
            0,
            &base,
            base_cpu,
            base_rss,
        ));
        Ok(())
    }

    fn record_start(&mut self, dep: &Deployment, existing: bool, users: u64, svc: &Service) {
        self.outcome.starts.push(Start {
            deployment: dep.name.clone(),
            existing_database: existing,
            users_in_db: users,
            ready_ms: svc.ready_after.as_secs_f64() * 1000.0,
        });
    }

    /// `GET /auth/user/` and verify answer 200 for a pool token.
    async fn check_answers(
        &self,
        addr: std::net::SocketAddr,
        pool: &[Tokens],
    ) -> anyhow::Result<()> {
        let first = pool.first().ok_or_else(|| anyhow!("empty token pool"))?;
        for req in [
            load::user_request(&first.access_token)?,
            load::verify_request(&first.access_token)?,
        ] {
            let answer = setup::get(addr, &req).await?;
            if !answer.status.is_success() {
                bail!(
                    "{} {}: {} {}",
                    req.method,
                    req.path,
                    answer.status,
                    answer.text()
                );
            }
        }
        Ok(())
    }

    /// The baseline run of `shape`, made the first time it is needed (same requests, same load
    /// settings; refresh chains are not followed and logins skip the identity provider, since the
    /// baseline's answer is fixed).
    async fn baseline_for(&mut self, shape: Shape, workload: &Workload) -> anyhow::Result<Row> {
        if let Some(row) = self.baselines.get(&shape) {
            return Ok(row.clone());
        }
        let workload = match workload {
            Workload::Chains { first_tokens, .. } => Workload::Chains {
                first_tokens: first_tokens.clone(),
                follow: false,
            },
            Workload::Login { people, .. } => Workload::Login {
                idp: None,
                people: people.clone(),
                counter: Arc::new(AtomicU64::new(0)),
            },
            other => other.clone(),
        };
        eprintln!("[baseline] {} ...", shape.label());
        let pid = self.baseline.guard.pid();
        procs::reset_peak_rss(pid);
        let result = load::run(self.baseline.addr, &workload, self.opts.settings, &[pid]).await?;
        self.baseline.guard.check_running()?;
        let rss = procs::peak_rss(pid)?;
        let row = row_of(shape.label(), "baseline", "-", 0, &result, rss, None, None);
        eprintln!(
            "[baseline] {}: {:.0} req/s, p99 {:.2} ms",
            shape.label(),
            row.requests_per_s,
            row.p99_ms
        );
        self.baselines.insert(shape, row.clone());
        self.outcome.rows.push(row.clone());
        Ok(row)
    }

    /// Starts latchkey afresh, runs the workload, reads its accounting, stops it.
    async fn measure(
        &mut self,
        dep: &Deployment,
        scenario: &str,
        db: &str,
        users: u64,
        workload: &Workload,
        watch_idp: bool,
    ) -> anyhow::Result<Row> {
        let mut svc = dep.start().await?;
        self.record_start(dep, true, users, &svc);
        let pid = svc.guard.pid();
        let mut watch = vec![pid];
        if watch_idp {
            watch.push(self.idp.guard.pid());
        }
        let result = load::run(svc.addr, workload, self.opts.settings, &watch).await?;
        svc.guard.check_running()?;
        let rss = procs::peak_rss(pid)?;
        svc.guard.stop()?;
        let idp_cpu = result.cpu.get(1).map(Duration::as_secs_f64);
        Ok(row_of(
            scenario,
            &dep.name,
            db,
            users,
            &result,
            rss,
            idp_cpu,
            Some(svc.ready_after),
        ))
    }
}

fn wrk_row(
    scenario: &str,
    target: &str,
    db: &str,
    users: u64,
    w: &WrkResult,
    cpu: Duration,
    rss: u64,
) -> Row {
    let ok = w.requests.saturating_sub(w.errors);
    Row {
        scenario: scenario.to_owned(),
        target: target.to_owned(),
        db: db.to_owned(),
        users_in_db: users,
        requests_per_s: w.requests_per_s,
        ok,
        errors: w.errors,
        p50_ms: w.p50_ms,
        p99_ms: w.p99_ms,
        max_ms: w.max_ms,
        peak_rss_mb: rss as f64 / (1024.0 * 1024.0),
        server_cpu_s: cpu.as_secs_f64(),
        server_cpu_per_request_ms: cpu.as_secs_f64() * 1000.0 / (ok.max(1) as f64),
        generator_cpu_s: w.cpu.as_secs_f64(),
        idp_cpu_s: None,
        other_cpu_s: (w.machine_busy.as_secs_f64() - cpu.as_secs_f64() - w.cpu.as_secs_f64())
            .max(0.0),
        ratio_to_baseline: None,
        baseline_requests_per_s: None,
        start_to_ready_ms: None,
        error_samples: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn row_of(
    scenario: &str,
    target: &str,
    db: &str,
    users: u64,
    result: &LoadResult,
    rss: u64,
    idp_cpu: Option<f64>,
    ready: Option<Duration>,
) -> Row {
    let server_cpu = result
        .cpu
        .first()
        .copied()
        .unwrap_or_default()
        .as_secs_f64();
    Row {
        scenario: scenario.to_owned(),
        target: target.to_owned(),
        db: db.to_owned(),
        users_in_db: users,
        requests_per_s: result.rate(),
        ok: result.ok,
        errors: result.errors,
        p50_ms: result.quantile_ms(0.5),
        p99_ms: result.quantile_ms(0.99),
        max_ms: result.latency_us.max() as f64 / 1000.0,
        peak_rss_mb: rss as f64 / (1024.0 * 1024.0),
        server_cpu_s: server_cpu,
        server_cpu_per_request_ms: if result.ok > 0 {
            server_cpu * 1000.0 / result.ok as f64
        } else {
            0.0
        },
        generator_cpu_s: result.generator_cpu.as_secs_f64(),
        idp_cpu_s: idp_cpu,
        other_cpu_s: (result.machine_busy.as_secs_f64()
            - server_cpu
            - result.generator_cpu.as_secs_f64()
            - idp_cpu.unwrap_or_default())
        .max(0.0),
        ratio_to_baseline: None,
        baseline_requests_per_s: None,
        start_to_ready_ms: ready.map(|d| d.as_secs_f64() * 1000.0),
        error_samples: result.error_samples.clone(),
    }
}
