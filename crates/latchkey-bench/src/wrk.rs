//! The cross-check with wrk (Debian package `wrk`): the same `GET /auth/user/` with one fixed
//! token, `wrk -t2 -c<connections> -d<duration> --latency`, to compare with our generator on the
//! same request.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};

use crate::load::ORIGIN;

/// What wrk printed, parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct WrkResult {
    pub(crate) requests_per_s: f64,
    pub(crate) requests: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// Non-2xx/3xx answers plus socket errors.
    pub(crate) errors: u64,
    /// wrk's own CPU time (until shortly before its end).
    pub(crate) cpu: Duration,
    /// CPU time the whole machine was busy while wrk ran.
    pub(crate) machine_busy: Duration,
}

/// Whether `wrk` is installed.
pub(crate) fn available() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// Runs wrk against `GET http://addr/auth/user/` with the Bearer `token` (or no token for the
/// baseline, which ignores it anyway: the header is sent all the same).
pub(crate) async fn run(
    addr: SocketAddr,
    token: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<WrkResult> {
    let seconds = duration.as_secs().max(1);
    let mut command = tokio::process::Command::new("wrk");
    command
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("-H")
        .arg(format!("Origin: {ORIGIN}"))
        .arg("-H")
        .arg("Accept: application/json, text/plain, */*")
        .arg(format!("http://{addr}/auth/user/"))
        .kill_on_drop(true);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let machine_before = crate::procs::machine_busy()?;
    let child = command
        .spawn()
        .context("running wrk (apt-get install wrk)")?;
    // wrk's own CPU time, read from /proc shortly before it ends (a reaped process has none).
    let mut cpu = Duration::ZERO;
    if let Some(pid) = child.id() {
        let until_end = Duration::from_secs(seconds).saturating_sub(Duration::from_millis(150));
        tokio::time::sleep(until_end).await;
        cpu = crate::procs::cpu_time(pid).unwrap_or_default();
    }
    let output = tokio::time::timeout(Duration::from_secs(seconds + 30), child.wait_with_output())
        .await
        .map_err(|_| anyhow!("wrk did not finish"))?
        .context("waiting for wrk")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "wrk failed: {}\n{text}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut result = parse(&text).with_context(|| format!("reading wrk's output:\n{text}"))?;
    result.cpu = cpu;
    result.machine_busy = crate::procs::machine_busy()?.saturating_sub(machine_before);
    Ok(result)
}

fn parse(text: &str) -> anyhow::Result<WrkResult> {
    let mut result = WrkResult::default();
    let mut in_distribution = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rate] => result.requests_per_s = rate.parse()?,
            [count, "requests", "in", ..] => result.requests = count.parse()?,
            ["Latency", _avg, _stdev, max, ..] => result.max_ms = ms(max)?,
            ["Latency", "Distribution"] => in_distribution = true,
            ["50%", value] if in_distribution => result.p50_ms = ms(value)?,
            ["99%", value] if in_distribution => result.p99_ms = ms(value)?,
            ["Non-2xx", "or", "3xx", "responses:", n] => result.errors += n.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                for n in rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                {
                    result.errors += n;
                }
            }
            _ => {}
        }
    }
    if result.requests_per_s <= 0.0 {
        bail!("no Requests/sec line");
    }
    Ok(result)
}

/// `262.00us`, `1.23ms`, `1.05s` → milliseconds.
fn ms(value: &str) -> anyhow::Result<f64> {
    let (number, factor) = if let Some(n) = value.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = value.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("unknown unit in {value:?}");
    };
    Ok(number.parse::<f64>()? * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read() {
        let text = "Running 10s test @ http://127.0.0.1:1/auth/user/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   301.34us  404.05us  18.86ms   96.44%
    Req/Sec    55.12k     3.01k   60.00k    70.00%
  Latency Distribution
     50%  262.00us
     75%  330.00us
     90%  420.00us
     99%    1.23ms
  1097031 requests in 10.00s, 300.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 109703.10
Transfer/sec:     30.00MB
";
        let r = parse(text).unwrap();
        assert_eq!(r.requests, 1_097_031);
        assert!((r.requests_per_s - 109_703.10).abs() < 0.01);
        assert!((r.p50_ms - 0.262).abs() < 1e-9);
        assert!((r.p99_ms - 1.23).abs() < 1e-9);
        assert!((r.max_ms - 18.86).abs() < 1e-9);
        assert_eq!(r.errors, 7);
    }
}
