//! Child processes (latchkey, the dev identity provider, the baseline server) and what
//! `/proc` says about them. Children are stopped by PID: SIGTERM, then SIGKILL after a grace
//! period; dropping a [`ChildGuard`] does the same, so an error or Ctrl-C never leaves one behind.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use hyper::StatusCode;

use crate::client::{Conn, Req};

/// How long a child gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a child may take to answer its readiness check.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A free port on 127.0.0.1 (bound, then released for the child to bind).
pub(crate) fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}

/// A running child, stopped when dropped.
pub(crate) struct ChildGuard {
    name: String,
    child: Option<Child>,
    pid: u32,
}

impl ChildGuard {
    /// Starts `command` with its output appended to `log`.
    pub(crate) fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        Ok(Self {
            name: name.to_owned(),
            pid: child.id(),
            child: Some(child),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Fails if the child has exited (with its status).
    pub(crate) fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("{} exited: {status}", self.name);
            }
        }
        Ok(())
    }

    /// Polls `GET path` on `addr` until it answers 200; returns the time since `started`.
    pub(crate) async fn wait_ready(
        &mut self,
        addr: SocketAddr,
        path: &str,
        started: Instant,
    ) -> anyhow::Result<Duration> {
        let deadline = started + READY_TIMEOUT;
        let req = Req::get(path);
        loop {
            self.check_running()?;
            if let Ok(mut conn) = Conn::new(addr) {
                if let Ok(answer) = conn.send(&req).await {
                    if answer.status == StatusCode::OK {
                        return Ok(started.elapsed());
                    }
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not ready on {addr}{path} after {READY_TIMEOUT:?}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// SIGTERM, wait up to [`STOP_GRACE`], then SIGKILL. Returns how the child ended.
    pub(crate) fn stop(&mut self) -> anyhow::Result<String> {
        let Some(mut child) = self.child.take() else {
            return Ok("already stopped".into());
        };
        if child.try_wait()?.is_none() {
            if let Some(pid) = i32::try_from(self.pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let deadline = Instant::now() + STOP_GRACE;
            while child.try_wait()?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        match child.try_wait()? {
            Some(status) => Ok(status.to_string()),
            None => {
                child.kill()?;
                let status = child.wait()?;
                Ok(format!("killed after {STOP_GRACE:?}: {status}"))
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Err(err) = self.stop() {
                eprintln!("stopping {} (pid {}): {err:#}", self.name, self.pid);
            }
        }
    }
}

/// CPU time (user + system) of a process so far, from `/proc/<pid>/stat`.
pub(crate) fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("unexpected /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 is at index 0, so utime (14) and stime (15) are at 11 and 12.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .ok_or_else(|| anyhow!("short /proc/{pid}/stat"))?
            .parse::<u64>()
            .context("parsing /proc/<pid>/stat")
    };
    let total = ticks(11)? + ticks(12)?;
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_secs_f64(total as f64 / hz as f64))
}

/// Peak resident set size (`VmHWM` in `/proc/<pid>/status`), in bytes.
pub(crate) fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    status_kb(pid, "VmHWM:").map(|kb| kb * 1024)
}

fn status_kb(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .ok_or_else(|| anyhow!("no {key} in /proc/{pid}/status"))
}

/// Resets the peak RSS of `pid` to its current RSS (`echo 5 > /proc/<pid>/clear_refs`), so
/// that `VmHWM` afterwards is the peak of what follows. Best effort: false if not permitted.
pub(crate) fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// CPU time the whole machine spent busy so far (all cores; `/proc/stat` minus idle and
/// iowait): set against our processes' CPU time it shows what others took during a run.
pub(crate) fn machine_busy() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat
        .lines()
        .next()
        .ok_or_else(|| anyhow!("empty /proc/stat"))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = ticks.iter().take(8).sum();
    let idle =
        ticks.get(3).copied().unwrap_or_default() + ticks.get(4).copied().unwrap_or_default();
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_secs_f64(
        total.saturating_sub(idle) as f64 / hz as f64,
    ))
}
