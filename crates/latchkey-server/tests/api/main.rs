//! latchkey's integration suite: one binary, the real server on 127.0.0.1 port 0, the dev
//! identity provider standing in for Google on another port 0, a fake clock shared by both.

// Test helpers are not `#[test]` functions, so clippy's test allowances do not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// This build of the suite runs on SQLite; `tests/api_postgres` builds the same modules for
/// PostgreSQL.
const ON_POSTGRES: bool = false;

mod helpers;

mod cors;
mod errors;
mod login;
mod logout;
mod meta;
mod providers;
mod refresh;
mod sessions;
mod simplejwt;
mod tutorial;
mod user;
