//! The load generator: a fixed number of keep-alive connections, one worker task each, sending
//! back-to-back (closed loop) for a warm-up and then a fixed measured window. Latencies of the
//! 2xx answers whose request started inside the window go into an HDR histogram (µs); every
//! other answer or transport failure is an error, and the first few are kept for the report.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::task::JoinSet;

use crate::client::{Conn, Req, REQUEST_TIMEOUT};
use crate::procs;

/// The Nuxt auth-next client id the dev identity provider accepts.
pub(crate) const CLIENT_ID: &str = "latchkey-dev-client";
/// The SPA's origin and its login page (on latchkey's default allow-lists).
pub(crate) const ORIGIN: &str = "http://localhost:3000";
pub(crate) const REDIRECT_URI: &str = "http://localhost:3000/login";
pub(crate) const TOKEN_PATH: &str = "/social-login/google/";
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";
const ACCEPT: &str = "application/json, text/plain, */*";
/// Error answers kept per run, for the report.
const ERROR_SAMPLES: usize = 5;

/// Connections, warm-up and measured duration: the same for latchkey and the baseline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadSettings {
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

/// Whose e-mail signs in, by a running number shared by all workers.
#[derive(Clone)]
pub(crate) enum People {
    /// A new person each time: `new-<tag>-<n>@bench.example`.
    New { tag: String },
    /// The seeded people `0..count`, round robin.
    Returning { count: u64 },
}

/// What each connection sends.
#[derive(Clone)]
pub(crate) enum Workload {
    /// Request `i` of connection `c` is `requests[(c + i * connections) % len]` (a pool of tokens).
    Pool { requests: Arc<Vec<Req>> },
    /// One refresh chain per connection: the exact auth-next refresh body, each time with the
    /// refresh token of the previous answer (`follow`), or always the first (`!follow`, the
    /// baseline, whose fixed answer has no token).
    Chains {
        first_tokens: Arc<Vec<String>>,
        follow: bool,
    },
    /// A Google sign-in: approve at the dev identity provider's page (untimed), then the
    /// auth-next code exchange (timed). Without an identity provider (the baseline) the
    /// exchange is sent with a fixed code.
    Login {
        idp: Option<SocketAddr>,
        people: People,
        counter: Arc<AtomicU64>,
    },
}

/// What a run measured.
#[derive(Debug)]
pub(crate) struct LoadResult {
    /// 2xx answers to requests started in the measured window.
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) window: Duration,
    pub(crate) latency_us: Histogram<u64>,
    pub(crate) error_samples: Vec<String>,
    /// CPU time of each watched process during the window, in the order given.
    pub(crate) cpu: Vec<Duration>,
    /// CPU time of this process (the load generator) during the window.
    pub(crate) generator_cpu: Duration,
    /// CPU time the whole machine was busy during the window (all processes, all cores).
    pub(crate) machine_busy: Duration,
}

impl LoadResult {
    pub(crate) fn rate(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }
}

struct WorkerResult {
    ok: u64,
    errors: u64,
    latency_us: Histogram<u64>,
    error_samples: Vec<String>,
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow!("histogram: {e}"))
}

/// Runs `workload` against `addr` and samples the CPU time of `watch` (PIDs) over the window.
pub(crate) async fn run(
    addr: SocketAddr,
    workload: &Workload,
    settings: LoadSettings,
    watch: &[u32],
) -> anyhow::Result<LoadResult> {
    let start = tokio::time::Instant::now();
    let measure_from = start + settings.warmup;
    let end = measure_from + settings.duration;
    let mut workers = JoinSet::new();
    for index in 0..settings.connections {
        workers.spawn(worker(
            index,
            settings.connections,
            addr,
            workload.clone(),
            measure_from.into_std(),
            end.into_std(),
        ));
    }

    tokio::time::sleep_until(measure_from).await;
    let cpu_before = cpu_times(watch)?;
    let generator_before = procs::cpu_time(std::process::id())?;
    let machine_before = procs::machine_busy()?;
    tokio::time::sleep_until(end).await;
    let cpu_after = cpu_times(watch)?;
    let generator_after = procs::cpu_time(std::process::id())?;
    let machine_after = procs::machine_busy()?;

    let mut result = LoadResult {
        ok: 0,
        errors: 0,
        window: settings.duration,
        latency_us: histogram()?,
        error_samples: Vec::new(),
        cpu: cpu_after
            .iter()
            .zip(&cpu_before)
            .map(|(a, b)| a.saturating_sub(*b))
            .collect(),
        generator_cpu: generator_after.saturating_sub(generator_before),
        machine_busy: machine_after.saturating_sub(machine_before),
    };
    // Workers stop at `end`; the last requests finish within the request timeout.
    let collect = async {
        while let Some(joined) = workers.join_next().await {
            let worker = joined.context("a load worker failed")??;
            result.ok += worker.ok;
            result.errors += worker.errors;
            result
                .latency_us
                .add(&worker.latency_us)
                .map_err(|e| anyhow!("histogram: {e}"))?;
            for sample in worker.error_samples {
                if result.error_samples.len() < ERROR_SAMPLES {
                    result.error_samples.push(sample);
                }
            }
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(REQUEST_TIMEOUT * 3, collect)
        .await
        .map_err(|_| anyhow!("load workers did not stop"))??;
    Ok(result)
}

fn cpu_times(pids: &[u32]) -> anyhow::Result<Vec<Duration>> {
    pids.iter().map(|&pid| procs::cpu_time(pid)).collect()
}

/// One connection's closed loop.
async fn worker(
    index: usize,
    connections: usize,
    addr: SocketAddr,
    workload: Workload,
    measure_from: Instant,
    end: Instant,
) -> anyhow::Result<WorkerResult> {
    let mut conn = Conn::new(addr)?;
    let mut state = WorkerState::new(index, &workload)?;
    let mut result = WorkerResult {
        ok: 0,
        errors: 0,
        latency_us: histogram()?,
        error_samples: Vec::new(),
    };
    let mut i: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let outcome = match state.next(&workload, index, connections, i).await {
            Ok(req) => {
                let sent = Instant::now();
                let answer = conn.send(&req).await;
                (sent, answer.map(|a| (a, sent.elapsed())))
            }
            Err(err) => (now, Err(err.context("preparing the request"))),
        };
        i += 1;
        let (sent, answer) = outcome;
        let measured = sent >= measure_from;
        match answer {
            Ok((answer, latency)) if answer.status.is_success() => {
                state.answered(&workload, &answer.body)?;
                if measured {
                    result.ok += 1;
                    let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                    result.latency_us.saturating_record(us.max(1));
                }
            }
            Ok((answer, _)) => {
                if measured {
                    result.errors += 1;
                }
                if result.error_samples.len() < 3 {
                    let mut text = answer.text();
                    text.truncate(300);
                    result
                        .error_samples
                        .push(format!("{} {text}", answer.status));
                }
            }
            Err(err) => {
                if measured {
                    result.errors += 1;
                }
                if result.error_samples.len() < 3 {
                    result.error_samples.push(format!("{err:#}"));
                }
                // Do not spin on a dead server.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    Ok(result)
}

/// Per-connection state: the current refresh token of a chain, the identity provider
/// connection of a sign-in worker.
struct WorkerState {
    refresh_token: Option<String>,
    idp: Option<Conn>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    refresh_token: String,
}

impl WorkerState {
    fn new(index: usize, workload: &Workload) -> anyhow::Result<Self> {
        Ok(match workload {
            Workload::Pool { .. } => Self {
                refresh_token: None,
                idp: None,
            },
            Workload::Chains { first_tokens, .. } => Self {
                refresh_token: Some(
                    first_tokens
                        .get(index)
                        .ok_or_else(|| anyhow!("no refresh chain for connection {index}"))?
                        .clone(),
                ),
                idp: None,
            },
            Workload::Login { idp, .. } => Self {
                refresh_token: None,
                idp: idp.map(Conn::new).transpose()?,
            },
        })
    }

    async fn next(
        &mut self,
        workload: &Workload,
        index: usize,
        connections: usize,
        i: u64,
    ) -> anyhow::Result<Req> {
        match workload {
            Workload::Pool { requests } => {
                let n = (index as u64 + i * connections as u64) % requests.len().max(1) as u64;
                requests
                    .get(usize::try_from(n)?)
                    .cloned()
                    .ok_or_else(|| anyhow!("empty request pool"))
            }
            Workload::Chains { .. } => {
                let token = self
                    .refresh_token
                    .as_deref()
                    .ok_or_else(|| anyhow!("no refresh token"))?;
                refresh_request(token)
            }
            Workload::Login {
                people, counter, ..
            } => {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let email = match people {
                    People::New { tag } => format!("new-{tag}-{n}@bench.example"),
                    People::Returning { count } => seed_email(n % count.max(&1)),
                };
                let code = match self.idp.as_mut() {
                    Some(idp) => approve(idp, &email).await?,
                    None => "4/0AX-baseline-code".to_owned(),
                };
                exchange_request(&code)
            }
        }
    }

    fn answered(&mut self, workload: &Workload, body: &[u8]) -> anyhow::Result<()> {
        if let Workload::Chains { follow: true, .. } = workload {
            let answer: TokenAnswer =
                serde_json::from_slice(body).context("refresh answer without refresh_token")?;
            self.refresh_token = Some(answer.refresh_token);
        }
        Ok(())
    }
}

/// The e-mail of seeded person `n`.
pub(crate) fn seed_email(n: u64) -> String {
    format!("seed{n}@bench.example")
}

/// Form-encodes like auth-next (`%20` for spaces).
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The exact refresh body Nuxt auth-next sends.
pub(crate) fn refresh_request(refresh_token: &str) -> anyhow::Result<Req> {
    let body = format!(
        "refresh_token={}&scopes=openid%20profile%20email&client_id={CLIENT_ID}&grant_type=refresh_token",
        enc(refresh_token)
    );
    Req::post(TOKEN_PATH, FORM, body)
        .header("origin", ORIGIN)?
        .header("accept", ACCEPT)
}

/// The exact code-exchange body Nuxt auth-next sends (bare `audience` and `grant_type`).
pub(crate) fn exchange_request(code: &str) -> anyhow::Result<Req> {
    let body = format!(
        "code={}&client_id={CLIENT_ID}&redirect_uri={}&response_type=code&audience&grant_type",
        enc(code),
        enc(REDIRECT_URI)
    );
    Req::post(TOKEN_PATH, FORM, body)
        .header("origin", ORIGIN)?
        .header("accept", ACCEPT)
}

/// `GET /auth/user/` with a Bearer token, as the SPA sends it.
pub(crate) fn user_request(access_token: &str) -> anyhow::Result<Req> {
    Req::get("/auth/user/")
        .header("authorization", &format!("Bearer {access_token}"))?
        .header("origin", ORIGIN)?
        .header("accept", ACCEPT)
}

/// `POST /auth/token/verify/` (SimpleJWT shape).
pub(crate) fn verify_request(access_token: &str) -> anyhow::Result<Req> {
    let body = serde_json::json!({ "token": access_token }).to_string();
    Req::post("/auth/token/verify/", "application/json", body)
        .header("origin", ORIGIN)?
        .header("accept", ACCEPT)
}

/// Signs `email` in at the dev identity provider's page (as the browser submits the form) and
/// returns the authorization code from the 303 to the SPA's `/login`.
pub(crate) async fn approve(idp: &mut Conn, email: &str) -> anyhow::Result<String> {
    let body = format!(
        "response_type=code&client_id={CLIENT_ID}&redirect_uri={}&scope=openid%20profile%20email\
         &state=q9iL1Knbqc&email={}&name=Bench%20Person&email_verified=on",
        enc(REDIRECT_URI),
        enc(email)
    );
    let answer = idp
        .send(&Req::post("/o/oauth2/approve", FORM, body))
        .await?;
    if !answer.status.is_redirection() {
        bail!(
            "identity provider answered {}: {}",
            answer.status,
            answer.text()
        );
    }
    let location = answer
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| anyhow!("identity provider redirect without Location"))?;
    let url = url::Url::parse(location).context("identity provider's Location")?;
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| anyhow!("no code in {location}"))
}
