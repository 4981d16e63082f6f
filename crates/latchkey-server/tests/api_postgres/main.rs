//! The HTTP integration suite (`tests/api/`) again, on PostgreSQL: each test in a fresh schema
//! of `LATCHKEY_TEST_DATABASE_URL` (on SQLite, with a note, when that is unset). On PostgreSQL
//! the user/session cache is off by default, so this also covers the uncached path.

// Test helpers are not `#[test]` functions, so clippy's test allowances do not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// See `tests/api/main.rs`.
const ON_POSTGRES: bool = true;

#[path = "../api/cors.rs"]
mod cors;
#[path = "../api/errors.rs"]
mod errors;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/login.rs"]
mod login;
#[path = "../api/logout.rs"]
mod logout;
#[path = "../api/meta.rs"]
mod meta;
#[path = "../api/providers.rs"]
mod providers;
#[path = "../api/refresh.rs"]
mod refresh;
#[path = "../api/sessions.rs"]
mod sessions;
#[path = "../api/simplejwt.rs"]
mod simplejwt;
#[path = "../api/tutorial.rs"]
mod tutorial;
#[path = "../api/user.rs"]
mod user;
