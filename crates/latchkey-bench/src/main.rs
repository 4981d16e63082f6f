//! `latchkey-bench`: measures a release build of latchkey against a minimal baseline server.
//!
//! - `latchkey-bench run` — every scenario of docs/BENCHMARKS.md for a fixed duration; prints
//!   the table and writes `target/bench/results.json`.
//! - `latchkey-bench smoke` — every scenario for one second on small seeds; fails unless every
//!   request succeeded.
//!
//! latchkey, the dev identity provider and the baseline run as child processes on free
//! 127.0.0.1 ports, with a fresh temporary data dir; they are stopped (SIGTERM, then SIGKILL)
//! when the run ends, fails or is interrupted with Ctrl-C.

// A benchmark measures real time: the workspace's rule to read time through
// `latchkey_core::Clock` (so tests can move it) does not apply here.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use clap::{Parser, Subcommand};
use serde::Serialize;

mod baseline;
mod client;
mod load;
mod procs;
mod report;
mod runner;
mod setup;
mod wrk;

use load::LoadSettings;
use runner::Options;

/// latchkey's benchmark.
#[derive(Debug, Parser)]
#[command(name = "latchkey-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the scenarios and write target/bench/results.json.
    Run(RunArgs),
    /// Every scenario for one second on small seeds; exits non-zero unless there were no errors.
    Smoke(CommonArgs),
    /// The baseline server (started by `run` and `smoke`).
    #[command(hide = true)]
    Baseline {
        #[arg(long)]
        listen: SocketAddr,
    },
}

#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// PostgreSQL server for the `-pg` scenarios (a database `latchkey_bench_<random>` is created
    /// on it and dropped afterwards). Without it those scenarios are skipped.
    #[arg(long, env = "LATCHKEY_TEST_DATABASE_URL", value_name = "URL")]
    postgres: Option<String>,
    /// Only these scenarios (comma-separated): user, refresh, verify, login-new,
    /// login-returning, user-1m, refresh-1m, user-pg, refresh-pg.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The latchkey binary (default: `latchkey` next to this program).
    #[arg(long, value_name = "PATH")]
    latchkey: Option<PathBuf>,
    /// Where to write the JSON results (default: target/bench/results.json or smoke.json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Keep the temporary data dirs and logs (their folder is printed).
    #[arg(long)]
    keep: bool,
    /// Extra latchkey setting for every latchkey started, e.g. `--set LATCHKEY_USER_CACHE_TTL=0s`
    /// (repeatable; see docs/CONFIG.md).
    #[arg(long = "set", value_name = "LATCHKEY_KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
}

fn parse_setting(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if key.starts_with("LATCHKEY_") => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected LATCHKEY_KEY=VALUE, got {raw:?}")),
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Measured time per scenario.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Unmeasured load before each measurement (fresh process: caches, connections).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Users (each with a session) seeded for the ordinary scenarios.
    #[arg(long, default_value_t = 1_000)]
    users: u64,
    /// Users (each with a session) seeded for the `-1m` scenarios.
    #[arg(long, default_value_t = 1_000_000)]
    users_large: u64,
    /// Signed-in users whose access tokens `user` and `verify` cycle through.
    #[arg(long, default_value_t = 256)]
    pool: u64,
    /// Also cross-check `user` with wrk (one token; our generator and wrk, then wrk on the
    /// baseline). Needs the Debian package wrk.
    #[arg(long)]
    wrk: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Baseline { listen } => baseline::serve(listen).map(|()| true),
        Command::Run(args) => {
            let opts = Options {
                settings: LoadSettings {
                    connections: args.connections.max(1),
                    warmup: args.warmup,
                    duration: args.duration.max(Duration::from_millis(100)),
                },
                only: args.common.only.clone(),
                postgres: args.common.postgres.clone(),
                users_small: args.users.max(1),
                users_large: args.users_large.max(1),
                pool: args.pool.max(1),
                latchkey: args.common.latchkey.clone(),
                wrk: args.wrk,
                extra_env: args.common.settings.clone(),
            };
            bench(&opts, &args.common, "results.json", false)
        }
        Command::Smoke(common) => {
            let opts = Options {
                settings: LoadSettings {
                    connections: 32,
                    warmup: Duration::from_millis(200),
                    duration: Duration::from_secs(1),
                },
                only: common.only.clone(),
                postgres: common.postgres.clone(),
                users_small: 500,
                users_large: 5_000,
                pool: 64,
                latchkey: common.latchkey.clone(),
                wrk: false,
                extra_env: common.settings.clone(),
            };
            bench(&opts, &common, "smoke.json", true)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("latchkey-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Serialize)]
struct Results<'a> {
    command: Vec<String>,
    started_at_unix: u64,
    cores: usize,
    load_average_before: String,
    load_average_after: String,
    connections: usize,
    latchkey_settings: &'a [(String, String)],
    warmup_s: f64,
    duration_s: f64,
    outcome: &'a runner::Outcome,
    targets: Vec<report::Target>,
}

/// Runs the scenarios on a 2-thread runtime (the load generator's) and reports. `Ok(false)`
/// when a request failed (or, for the smoke, a scenario answered nothing).
fn bench(opts: &Options, common: &CommonArgs, file: &str, smoke: bool) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let work = tempfile::Builder::new()
        .prefix("latchkey-bench-")
        .tempdir()
        .context("creating a temporary folder")?;
    let started_at_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let load_before = load_average();
    eprintln!(
        "latchkey-bench: {} connections, {:?} warm-up + {:?} per scenario; work folder {} (load average {load_before})",
        opts.settings.connections,
        opts.settings.warmup,
        opts.settings.duration,
        work.path().display()
    );

    let mut interrupted = false;
    let outcome = runtime.block_on(async {
        let outcome = tokio::select! {
            outcome = runner::run(opts, work.path()) => outcome,
            _ = tokio::signal::ctrl_c() => {
                interrupted = true;
                Err(anyhow!("interrupted"))
            }
        };
        // After a failure or Ctrl-C the children are stopped by now (their guards were
        // dropped); their PostgreSQL databases can go.
        setup::drop_leftover_databases().await;
        outcome
    });
    // Logs help after a failure; an interrupted run leaves nothing behind.
    if common.keep || (outcome.is_err() && !interrupted) {
        let kept = work.keep();
        eprintln!("latchkey-bench: logs and data kept in {}", kept.display());
    }
    let outcome = outcome?;

    let targets = report::targets(&outcome);
    let table = report::table(&outcome, if smoke { &[] } else { &targets });
    println!("{table}");

    let out = match &common.out {
        Some(path) => path.clone(),
        None => default_out_dir()?.join(file),
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let results = Results {
        command: std::env::args().collect(),
        started_at_unix,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        load_average_before: load_before,
        load_average_after: load_average(),
        connections: opts.settings.connections,
        latchkey_settings: &opts.extra_env,
        warmup_s: opts.settings.warmup.as_secs_f64(),
        duration_s: opts.settings.duration.as_secs_f64(),
        outcome: &outcome,
        targets,
    };
    std::fs::write(&out, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("written to {}", out.display());

    let failed: Vec<String> = outcome
        .rows
        .iter()
        .filter(|r| r.errors > 0 || (smoke && r.ok == 0))
        .map(|r| format!("{} ({} errors, {} ok)", r.scenario, r.errors, r.ok))
        .collect();
    if failed.is_empty() {
        if smoke {
            println!("smoke: {} scenarios, no errors", outcome.rows.len());
        }
        Ok(true)
    } else {
        eprintln!("latchkey-bench: failed requests in {}", failed.join(", "));
        Ok(false)
    }
}

/// `target/bench`: two levels above this program (`target/release/latchkey-bench`).
fn default_out_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(|release| release.parent())
        .ok_or_else(|| anyhow!("cannot tell the target folder from {}", exe.display()))?;
    Ok(target.join("bench"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
