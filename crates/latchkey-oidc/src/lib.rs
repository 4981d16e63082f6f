//! Signing people in with Google or any OpenID Connect provider: the client side of the
//! authorization-code flow that latchkey's token endpoint runs after the browser comes back with
//! a code.
//!
//! [`OidcProvider::exchange_code`] resolves the provider's endpoints (discovery, cached, with
//! explicit overrides), redeems the code with the client secret (forwarding the PKCE verifier),
//! verifies the ID token against the provider's JWKS (RS256/ES256 only; issuer, audience,
//! expiry checked against the injected [`latchkey_core::Clock`]) and returns a
//! [`latchkey_core::Profile`], completed from userinfo when the ID token is terse.
//!
//! Modules:
//! - `settings`: [`ProviderSettings`], one configured provider;
//! - `error`: [`ProviderError`], every variant naming the provider;
//! - `http`: the outbound client ([`http_client`]), size-capped JSON reads, error classification;
//! - `discovery`: [`Endpoints`] from the discovery document and overrides, cached with a TTL;
//! - `jwks`: the provider's signing keys, cached, refetched on an unknown `kid` (throttled);
//! - `id_token`: ID-token verification, written out in one place;
//! - `profile`: claims and userinfo → [`latchkey_core::Profile`];
//! - `provider`: [`OidcProvider`], which ties them together.

mod discovery;
mod error;
mod http;
mod id_token;
mod jwks;
mod profile;
mod provider;
mod settings;

pub use discovery::Endpoints;
pub use error::ProviderError;
pub use http::http_client;
pub use provider::OidcProvider;
pub use settings::ProviderSettings;
