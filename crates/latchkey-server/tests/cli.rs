//! The `latchkey` binary as an operator runs it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

fn clean_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("LATCHKEY_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn print_config_prints_an_example_that_loads() {
    let out = clean_command(&["print-config"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("access_token_lifetime"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.toml");
    std::fs::write(&file, &text).unwrap();
    latchkey_config::Config::load(Some(&file), Vec::<(String, String)>::new()).unwrap();
}

#[test]
fn the_dev_identity_provider_refuses_production() {
    let out = clean_command(&["dev-idp", "--listen", "127.0.0.1:0"])
        .env("LATCHKEY_ENV", "production")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("production"), "{err}");
}

#[test]
fn a_bad_configuration_is_a_clear_error_not_a_panic() {
    let out = clean_command(&["serve"])
        .env("LATCHKEY_ACCESS_TOKEN_LIFETIME", "five minutes")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("LATCHKEY_ACCESS_TOKEN_LIFETIME"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn migrate_works_and_serve_answers_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = clean_command(&["migrate"])
        .env("LATCHKEY_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("latchkey.db").exists());

    // Serve on a fresh data dir, so that start-up writes (migrations, the key) happen in it.
    let fresh = tempfile::tempdir().unwrap();
    let mut child = clean_command(&["serve"])
        .env("LATCHKEY_DATA_DIR", fresh.path())
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The address is in the "latchkey is serving" log line.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("address=").nth(1) {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("serving log line");
    let body = http_get(&addr, "/healthz");
    assert!(body.contains(r#"{"status":"ok"}"#), "{body}");
    assert!(fresh.path().join("keys/ed25519.pem").exists());
    assert!(
        fresh.path().join("latchkey.db-wal").exists(),
        "WAL mode, written to"
    );

    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    // The connections were closed: SQLite checkpointed and removed its write-ahead log.
    assert!(!fresh.path().join("latchkey.db-wal").exists());
}

/// A minimal HTTP/1.1 GET, to keep this test free of an async runtime.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}
