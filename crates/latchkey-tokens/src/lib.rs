//! latchkey's own tokens.
//!
//! - [`KeyRing`]: the Ed25519 signing key (generated or from PEM), its `kid`, and the JWKS
//!   document that lets any service verify latchkey's tokens offline.
//! - [`TokenService`]: issues access and refresh JWTs and verifies them, with the algorithm
//!   pinned, issuer and audience checked, and expiry judged by the injected clock (never the
//!   wall clock: `jsonwebtoken` reads that itself, so its own `exp` check is off and ours is on).
//!
//! A refresh token names its session (`sid`) and generation (`gen`) and is a pure function of
//! them: re-issuing the refresh token of the same generation gives the same bytes (Ed25519
//! signatures are deterministic), which is what makes the grace window idempotent.

mod cache;
mod keys;
mod service;

pub use keys::{KeyError, KeyRing};
pub use service::{Claims, IssuedToken, TokenError, TokenService, TokenSettings, TokenType};
