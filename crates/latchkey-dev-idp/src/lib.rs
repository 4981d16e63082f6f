//! A Google look-alike OpenID provider for local development and tests, in the spirit of
//! Firebase's Auth emulator: the same paths, discovery document, token and error shapes as
//! `accounts.google.com`, but anyone can sign in as anyone by typing an e-mail address.
//!
//! It refuses to run in production ([`refuse_in_production`]). Start it with [`spawn`] on a
//! listener (port 0 works); the [`DevIdpHandle`] gives its URLs and can rotate its signing key.
//!
//! Modules:
//! - `config`: [`DevIdpConfig`] and the production guard;
//! - `server`: [`spawn`], [`router`], [`DevIdpHandle`] and the shared state;
//! - `keys`: the RSA signing keys and the JWKS document;
//! - `person`: who signs in — stable `sub`, name parts, the ID-token and userinfo claims;
//! - `grants`: authorization codes and access tokens in memory, expiring by the injected clock;
//! - `authorize`, `page`: the authorization request, the sign-in page and its approval;
//! - `token`: `POST /token` with client authentication and PKCE;
//! - `endpoints`: discovery, JWKS, userinfo and the generated avatar.

mod authorize;
mod config;
mod endpoints;
mod grants;
mod keys;
mod page;
mod person;
mod server;
mod token;

pub use config::{refuse_in_production, DevIdpConfig, RefusedInProduction};
pub use server::{router, spawn, DevIdp, DevIdpError, DevIdpHandle};
