//! Setting the stage: the binaries, the dev identity provider and baseline processes, latchkey
//! deployments (a data dir and a database) that can be started and stopped, seeding through the
//! store, signing people in over HTTP for token pools, and throw-away PostgreSQL databases.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use latchkey_store::bench_support::{SeedPerson, SeedPlan};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use sqlx::Connection as _;

use crate::client::{Conn, Req};
use crate::load::{self, exchange_request, seed_email};
use crate::procs::{self, ChildGuard};

/// Access tokens live this long in the benchmark, so that none expires during a run.
const ACCESS_LIFETIME: &str = "1h";
/// Parallel sign-ins while building token pools.
const SIGN_IN_TASKS: usize = 8;
/// The dev identity provider's client secret (its default).
const CLIENT_SECRET: &str = "latchkey-dev-secret";

/// Where the two programs are.
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    pub(crate) latchkey: PathBuf,
    pub(crate) bench: PathBuf,
}

impl Binaries {
    /// `latchkey` next to this program (both are built into `target/release`), unless given.
    pub(crate) fn locate(latchkey: Option<PathBuf>) -> anyhow::Result<Self> {
        let bench = std::env::current_exe().context("locating latchkey-bench")?;
        let latchkey = match latchkey {
            Some(path) => path,
            None => bench
                .parent()
                .ok_or_else(|| anyhow!("latchkey-bench has no folder"))?
                .join("latchkey"),
        };
        if !latchkey.is_file() {
            bail!(
                "{} not found: build it first (cargo build --release -p latchkey-server) or pass --latchkey",
                latchkey.display()
            );
        }
        Ok(Self { latchkey, bench })
    }
}

/// A process of ours listening on `addr`.
pub(crate) struct Service {
    pub(crate) guard: ChildGuard,
    pub(crate) addr: SocketAddr,
    pub(crate) ready_after: Duration,
}

/// Starts the dev identity provider (one for the whole invocation).
pub(crate) async fn start_idp(bins: &Binaries, logs: &Path) -> anyhow::Result<Service> {
    let addr = procs::free_addr()?;
    let mut command = Command::new(&bins.latchkey);
    command
        .arg("dev-idp")
        .arg("--listen")
        .arg(addr.to_string())
        .env_remove("LATCHKEY_ENV")
        .env_remove("LATCHKEY_DEV_IDP_CLIENT_ID")
        .env_remove("LATCHKEY_DEV_IDP_CLIENT_SECRET");
    let started = Instant::now();
    let mut guard = ChildGuard::spawn("dev identity provider", command, &logs.join("idp.log"))?;
    let ready_after = guard
        .wait_ready(addr, "/.well-known/openid-configuration", started)
        .await?;
    Ok(Service {
        guard,
        addr,
        ready_after,
    })
}

/// Starts the baseline server (`latchkey-bench baseline`).
pub(crate) async fn start_baseline(bins: &Binaries, logs: &Path) -> anyhow::Result<Service> {
    let addr = procs::free_addr()?;
    let mut command = Command::new(&bins.bench);
    command
        .arg("baseline")
        .arg("--listen")
        .arg(addr.to_string());
    let started = Instant::now();
    let mut guard = ChildGuard::spawn("baseline", command, &logs.join("baseline.log"))?;
    let ready_after = guard.wait_ready(addr, "/", started).await?;
    Ok(Service {
        guard,
        addr,
        ready_after,
    })
}

/// A latchkey installation: a data dir (signing key, SQLite file) and a database URL.
pub(crate) struct Deployment {
    pub(crate) name: String,
    pub(crate) data_dir: PathBuf,
    pub(crate) database_url: String,
    latchkey: PathBuf,
    idp: SocketAddr,
    log: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl Deployment {
    /// On SQLite in `data_dir` (the default database location), or on `database_url`.
    pub(crate) fn new(
        name: &str,
        bins: &Binaries,
        idp: SocketAddr,
        data_dir: PathBuf,
        database_url: Option<String>,
        extra_env: Vec<(String, String)>,
    ) -> Self {
        let database_url =
            database_url.unwrap_or_else(|| format!("sqlite://{}/latchkey.db", data_dir.display()));
        Self {
            name: name.to_owned(),
            log: data_dir.join("latchkey.log"),
            data_dir,
            database_url,
            latchkey: bins.latchkey.clone(),
            idp,
            extra_env,
        }
    }

    /// Starts `latchkey serve` on a free port and waits for `/readyz`.
    pub(crate) async fn start(&self) -> anyhow::Result<Service> {
        let addr = procs::free_addr()?;
        let mut command = Command::new(&self.latchkey);
        command.arg("serve");
        // Only our settings: nothing of the caller's LATCHKEY_* environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("LATCHKEY_") {
                command.env_remove(key);
            }
        }
        command
            .env("LATCHKEY_LISTEN", addr.to_string())
            .env("LATCHKEY_DATA_DIR", &self.data_dir)
            .env("LATCHKEY_DATABASE_URL", &self.database_url)
            .env("LATCHKEY_ACCESS_TOKEN_LIFETIME", ACCESS_LIFETIME)
            .env("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID", load::CLIENT_ID)
            .env("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET", CLIENT_SECRET)
            .env(
                "LATCHKEY_PROVIDERS__GOOGLE__DISCOVERY_URL",
                format!("http://{}/.well-known/openid-configuration", self.idp),
            )
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        let started = Instant::now();
        let mut guard =
            ChildGuard::spawn(&format!("latchkey ({})", self.name), command, &self.log)?;
        let ready_after = guard
            .wait_ready(addr, "/readyz", started)
            .await
            .with_context(|| format!("see {}", self.log.display()))?;
        Ok(Service {
            guard,
            addr,
            ready_after,
        })
    }

    /// Seeds `users` people (numbers `first..first + users`) with one session each, through the
    /// store. Returns how long it took.
    pub(crate) async fn seed(&self, first: u64, users: u64) -> anyhow::Result<Duration> {
        let now = unix_now()?;
        let person = |n: u64| {
            let email = seed_email(n);
            SeedPerson {
                username: format!("seed{n}"),
                subject: dev_idp_subject(&email),
                email,
                first_name: "Seed".into(),
                last_name: format!("Person {n}"),
            }
        };
        let plan = SeedPlan {
            provider: "google",
            first,
            users,
            sessions_per_user: 1,
            now,
            session_lifetime: 30 * 24 * 3600,
            person: &person,
        };
        let started = Instant::now();
        let report = latchkey_store::bench_support::seed(&self.database_url, &plan)
            .await
            .context("seeding")?;
        if report.users != users {
            bail!("seeded {} users instead of {users}", report.users);
        }
        Ok(started.elapsed())
    }
}

/// The `sub` the dev identity provider asserts for `email` (as in `latchkey-dev-idp`'s
/// `person.rs`): seeded identities carry it, so seeded people sign in to their seeded user.
pub(crate) fn dev_idp_subject(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    let number = u128::from_be_bytes(first) % 100_000_000_000_000_000_000;
    format!("1{number:020}")
}

fn unix_now() -> anyhow::Result<i64> {
    Ok(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    )?)
}

/// Tokens from a sign-in.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) user: SignedInUser,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SignedInUser {
    pub(crate) username: String,
}

/// Signs the seeded people `numbers` in through the identity provider and latchkey, a few at a
/// time, and checks each got their seeded user back.
pub(crate) async fn sign_in_seeded(
    latchkey: SocketAddr,
    idp: SocketAddr,
    numbers: Vec<u64>,
) -> anyhow::Result<Vec<Tokens>> {
    let chunk = numbers.len().div_ceil(SIGN_IN_TASKS).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for (part, numbers) in numbers.chunks(chunk).map(<[u64]>::to_vec).enumerate() {
        tasks.spawn(async move {
            let mut idp_conn = Conn::new(idp)?;
            let mut conn = Conn::new(latchkey)?;
            let mut tokens = Vec::with_capacity(numbers.len());
            for n in numbers {
                let code = load::approve(&mut idp_conn, &seed_email(n)).await?;
                let answer = conn.send(&exchange_request(&code)?).await?;
                if !answer.status.is_success() {
                    bail!("sign-in of seed{n}: {} {}", answer.status, answer.text());
                }
                let signed_in: Tokens =
                    serde_json::from_slice(&answer.body).context("sign-in answer")?;
                if signed_in.user.username != format!("seed{n}") {
                    bail!(
                        "seeded person {n} signed in as {:?}, not as their seeded user",
                        signed_in.user.username
                    );
                }
                tokens.push(signed_in);
            }
            anyhow::Ok((part, tokens))
        });
    }
    let mut parts = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        parts.push(joined??);
    }
    parts.sort_by_key(|(part, _)| *part);
    Ok(parts.into_iter().flat_map(|(_, tokens)| tokens).collect())
}

/// `count` numbers spread evenly over `0..users`.
pub(crate) fn spread(users: u64, count: u64, offset: u64) -> Vec<u64> {
    let count = count.min(users).max(1);
    let step = (users / count).max(1);
    (0..count).map(|i| (i * step + offset) % users).collect()
}

/// A fresh PostgreSQL database `latchkey_bench_<random>` on the server of `base`, dropped by
/// [`PgDatabase::drop_now`] (or at the end of the run, see [`drop_leftover_databases`]).
pub(crate) struct PgDatabase {
    pub(crate) url: String,
    name: String,
    admin_url: String,
}

/// Databases created and not yet dropped: dropped after a failure or Ctrl-C too.
static CREATED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

impl PgDatabase {
    pub(crate) async fn create(base: &str) -> anyhow::Result<Self> {
        let name = format!("latchkey_bench_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(base)
            .await
            .context("connecting to PostgreSQL (--postgres / LATCHKEY_TEST_DATABASE_URL)")?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating database {name}"))?;
        admin.close().await?;
        if let Ok(mut created) = CREATED.lock() {
            created.push((base.to_owned(), name.clone()));
        }
        let mut url = url::Url::parse(base).context("PostgreSQL URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            url: url.to_string(),
            name,
            admin_url: base.to_owned(),
        })
    }

    pub(crate) async fn drop_now(self) -> anyhow::Result<()> {
        drop_database(&self.admin_url, &self.name).await?;
        if let Ok(mut created) = CREATED.lock() {
            created.retain(|(_, name)| name != &self.name);
        }
        Ok(())
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping database {name}"))?;
    admin.close().await?;
    Ok(())
}

/// Drops every database this run created and has not dropped yet.
pub(crate) async fn drop_leftover_databases() {
    let leftovers = CREATED
        .lock()
        .map(|mut created| std::mem::take(&mut *created))
        .unwrap_or_default();
    for (admin_url, name) in leftovers {
        if let Err(err) = drop_database(&admin_url, &name).await {
            eprintln!("could not drop PostgreSQL database {name}: {err:#}");
        }
    }
}

/// GETs `path` once (for sanity checks).
pub(crate) async fn get(addr: SocketAddr, req: &Req) -> anyhow::Result<crate::client::Answer> {
    Conn::new(addr)?.send(req).await
}
