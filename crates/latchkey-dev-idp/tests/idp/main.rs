//! Integration tests of the dev identity provider over real HTTP on 127.0.0.1, port 0.

// Test helpers are plain functions, outside clippy's idea of "in a test".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod authorize;
mod token;
mod userinfo;
