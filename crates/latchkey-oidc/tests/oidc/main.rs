//! Integration tests of the OIDC client against the real dev identity provider and against small
//! misbehaving providers, all over HTTP on 127.0.0.1 port 0.

// Test helpers are plain functions, outside clippy's idea of "in a test".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake;
mod helpers;

mod against_dev_idp;
mod misbehaving;
