//! The table, the targets of issue 4 and the JSON file.

use std::fmt::Write as _;

use serde::Serialize;

use crate::runner::{Outcome, Row, Start};

/// A target of the issue, with the figure it was judged on.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Target {
    pub(crate) target: String,
    pub(crate) figure: String,
    /// `None` when the scenario it needs did not run.
    pub(crate) met: Option<bool>,
}

fn find<'a>(outcome: &'a Outcome, scenario: &str) -> Option<&'a Row> {
    outcome.rows.iter().find(|r| r.scenario == scenario)
}

fn target(name: &str, judged: Option<(String, bool)>) -> Target {
    match judged {
        Some((figure, met)) => Target {
            target: name.to_owned(),
            figure,
            met: Some(met),
        },
        None => Target {
            target: name.to_owned(),
            figure: "not run".into(),
            met: None,
        },
    }
}

/// The targets, judged on this run.
pub(crate) fn targets(outcome: &Outcome) -> Vec<Target> {
    let ratio = |scenario: &str, at_least: f64| {
        find(outcome, scenario).and_then(|r| {
            r.ratio_to_baseline.map(|ratio| {
                (
                    format!(
                        "{:.0}% ({:.0} of {:.0} req/s)",
                        ratio * 100.0,
                        r.requests_per_s,
                        r.baseline_requests_per_s.unwrap_or_default()
                    ),
                    ratio >= at_least,
                )
            })
        })
    };
    let p99 = |scenario: &str, at_most: f64| {
        find(outcome, scenario).map(|r| (format!("{:.2} ms", r.p99_ms), r.p99_ms <= at_most))
    };
    let cpu_per_login = |scenario: &str| {
        find(outcome, scenario).map(|r| {
            (
                format!(
                    "{:.3} ms ({:.2} s for {} logins)",
                    r.server_cpu_per_request_ms, r.server_cpu_s, r.ok
                ),
                r.server_cpu_per_request_ms <= 1.0,
            )
        })
    };
    let scale = |large: &str, small: &str| {
        let (l, s) = (find(outcome, large)?, find(outcome, small)?);
        let ratio = l.requests_per_s / s.requests_per_s.max(1e-9);
        Some((
            format!(
                "{:.0}% ({:.0} vs {:.0} req/s; p99 {:.2} vs {:.2} ms; {} vs {} users)",
                ratio * 100.0,
                l.requests_per_s,
                s.requests_per_s,
                l.p99_ms,
                s.p99_ms,
                l.users_in_db,
                s.users_in_db
            ),
            ratio >= 0.85,
        ))
    };
    let rss = {
        let sqlite: Vec<&Row> = outcome.rows.iter().filter(|r| r.db == "sqlite").collect();
        sqlite
            .iter()
            .max_by(|a, b| a.peak_rss_mb.total_cmp(&b.peak_rss_mb))
            .map(|worst| {
                (
                    format!("{:.1} MB max ({})", worst.peak_rss_mb, worst.scenario),
                    worst.peak_rss_mb <= 40.0,
                )
            })
    };
    let ready = {
        let existing: Vec<&Start> = outcome
            .starts
            .iter()
            .filter(|s| s.existing_database && s.deployment.starts_with("sqlite"))
            .collect();
        existing
            .iter()
            .max_by(|a, b| a.ready_ms.total_cmp(&b.ready_ms))
            .map(|worst| {
                let mut all: Vec<f64> = existing.iter().map(|s| s.ready_ms).collect();
                all.sort_by(f64::total_cmp);
                let median = all.get(all.len() / 2).copied().unwrap_or_default();
                (
                    format!(
                        "{:.1} ms max over {} starts (median {:.1} ms; worst: {}, {} users)",
                        worst.ready_ms,
                        all.len(),
                        median,
                        worst.deployment,
                        worst.users_in_db
                    ),
                    worst.ready_ms <= 200.0,
                )
            })
    };
    vec![
        target(
            "GET /auth/user/ ≥ 50% of baseline req/s",
            ratio("user", 0.5),
        ),
        target("GET /auth/user/ p99 ≤ 5 ms", p99("user", 5.0)),
        target(
            "refresh with rotation (SQLite) ≥ 10% of baseline req/s",
            ratio("refresh", 0.1),
        ),
        target(
            "refresh with rotation (SQLite) p99 ≤ 10 ms",
            p99("refresh", 10.0),
        ),
        target(
            "login (new users): latchkey CPU ≤ 1 ms per login",
            cpu_per_login("login-new"),
        ),
        target(
            "login (returning users): latchkey CPU ≤ 1 ms per login",
            cpu_per_login("login-returning"),
        ),
        target(
            "1M users: GET /auth/user/ req/s within 15% of 1,000 users",
            scale("user-1m", "user"),
        ),
        target(
            "1M sessions: refresh req/s within 15% of 1,000 sessions",
            scale("refresh-1m", "refresh"),
        ),
        target("peak RSS under load ≤ 40 MB (SQLite)", rss),
        target(
            "start to ready ≤ 200 ms with an existing database (SQLite)",
            ready,
        ),
    ]
}

/// The table as printed (and pasted into docs/BENCHMARKS.md).
pub(crate) fn table(outcome: &Outcome, targets: &[Target]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | db | users | req/s | × baseline | p50 ms | p99 ms | max ms | errors | peak RSS MB | server CPU s | CPU/req ms | loadgen CPU s | others' CPU s |"
    );
    let _ = writeln!(
        out,
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    );
    let latchkey = outcome.rows.iter().filter(|r| r.target != "baseline");
    let baseline = outcome.rows.iter().filter(|r| r.target == "baseline");
    for r in latchkey.chain(baseline) {
        let ratio = r
            .ratio_to_baseline
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
        let users = if r.target == "baseline" {
            "-".to_owned()
        } else {
            r.users_in_db.to_string()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {} | {:.2} | {:.2} | {:.1} | {} | {:.1} | {:.2} | {:.3} | {:.2} | {:.2} |",
            r.scenario,
            r.db,
            users,
            r.requests_per_s,
            ratio,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.errors,
            r.peak_rss_mb,
            r.server_cpu_s,
            r.server_cpu_per_request_ms,
            r.generator_cpu_s,
            r.other_cpu_s,
        );
    }
    let logins: Vec<&Row> = outcome
        .rows
        .iter()
        .filter(|r| r.idp_cpu_s.is_some())
        .collect();
    if !logins.is_empty() {
        let _ = writeln!(out);
        for r in logins {
            let _ = writeln!(
                out,
                "{}: {:.0} logins/s; latchkey CPU {:.3} ms/login; dev identity provider CPU {:.2} s ({:.3} ms/login)",
                r.scenario,
                r.requests_per_s,
                r.server_cpu_per_request_ms,
                r.idp_cpu_s.unwrap_or_default(),
                r.idp_cpu_s.unwrap_or_default() * 1000.0 / (r.ok.max(1) as f64),
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Start to ready (spawn → first 200 from /readyz):");
    let mut groups: Vec<(String, bool, u64, Vec<f64>)> = Vec::new();
    for s in &outcome.starts {
        match groups
            .iter_mut()
            .find(|g| g.0 == s.deployment && g.1 == s.existing_database)
        {
            Some(group) => group.3.push(s.ready_ms),
            None => groups.push((
                s.deployment.clone(),
                s.existing_database,
                s.users_in_db,
                vec![s.ready_ms],
            )),
        }
    }
    for (deployment, existing, users, mut times) in groups {
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        let max = times.last().copied().unwrap_or_default();
        let what = if existing {
            format!("existing database, {users} users")
        } else {
            "empty data dir (creates database and key)".to_owned()
        };
        let _ = writeln!(
            out,
            "- {deployment}, {what}: median {median:.1} ms, max {max:.1} ms over {} starts",
            times.len()
        );
    }
    for s in &outcome.seeding {
        let _ = writeln!(
            out,
            "- seeding {}: {} users + identities + {} sessions through the store in {:.1} s",
            s.deployment, s.users, s.sessions, s.seconds
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Targets:");
    for t in targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not run",
        };
        let _ = writeln!(out, "- [{verdict}] {}: {}", t.target, t.figure);
    }
    for note in &outcome.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let errors: Vec<&Row> = outcome.rows.iter().filter(|r| r.errors > 0).collect();
    for r in errors {
        let _ = writeln!(out, "errors in {} ({}):", r.scenario, r.errors);
        for sample in &r.error_samples {
            let _ = writeln!(out, "    {sample}");
        }
    }
    out
}
