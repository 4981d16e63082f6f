//! What the token endpoint needs from an identity provider: turn an authorization code into a
//! verified profile. `latchkey-oidc` implements it for Google and other OIDC providers; an
//! embedding app can plug in its own.

use async_trait::async_trait;
use latchkey_core::Profile;

/// Why a provider could not turn a code into a profile.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderFailure {
    /// The provider refused the code (bad, expired or reused code, redirect URI mismatch).
    #[error("{provider} rejected the authorization code: {description}")]
    CodeRejected {
        provider: String,
        description: String,
    },
    /// The provider did not answer in time.
    #[error("{provider} did not answer in time")]
    Timeout { provider: String },
    /// The provider could not be reached, failed, or answered something that is not a valid
    /// answer (HTML, garbage, an ID token that does not verify).
    #[error("{provider} failed: {reason}")]
    Failed { provider: String, reason: String },
}

#[async_trait]
pub trait SignInProvider: Send + Sync + std::fmt::Debug {
    /// Whether identities from this provider may be linked to an existing user with the same
    /// verified e-mail.
    fn link_verified_email(&self) -> bool;

    /// Exchanges an authorization code (with its redirect URI and optional PKCE verifier) for
    /// the verified profile of the person who signed in.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Profile, ProviderFailure>;
}
