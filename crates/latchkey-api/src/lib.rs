//! latchkey's HTTP surface as an axum [`Router`](axum::Router) that a Rust app can serve on its
//! own or nest into its own router, and the [`AuthUser`] extractor that protects a route with
//! latchkey's access tokens.
//!
//! - `routes/token.rs`: `POST /social-login/{provider}/`, the token endpoint the SPA talks to
//!   (code exchange and refresh on one URL, as Nuxt Auth requires).
//! - `routes/user.rs`: `GET/PUT/PATCH /auth/user/`.
//! - `routes/simplejwt.rs`: `/auth/token/refresh/`, `/auth/token/verify/` (SimpleJWT shapes).
//! - `routes/logout.rs`: `/auth/logout/`, which really revokes.
//! - `routes/sessions.rs`: `/auth/sessions/`, the user's signed-in devices.
//! - `routes/meta.rs`: JWKS, OpenID metadata, health and readiness.
//!
//! Errors: `error.rs` holds the two envelopes, RFC 6749 for the token endpoint and
//! `{"detail", "code"}` for everything else. No input makes a handler answer 500.

mod body;
mod error;
mod extract;
mod flow;
mod provider;
mod router;
mod routes;
mod state;

pub use error::{ApiError, OAuthError};
pub use extract::AuthUser;
pub use provider::{ProviderFailure, SignInProvider};
pub use router::router;
pub use state::{ApiSettings, AppState};
