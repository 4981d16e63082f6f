//! [`ProviderError`]: how talking to an identity provider can fail, in terms the HTTP layer can
//! map to a status (400 for a rejected code, 502/504 for a provider that is down, slow or lying).

/// A failed sign-in at a provider. Every variant names the provider; none carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider did not answer within the HTTP client's timeout (→ 504).
    #[error("{provider}: the {what} did not answer in time")]
    Timeout {
        provider: String,
        what: &'static str,
    },
    /// Connection refused, DNS failure, TLS failure or a 5xx answer (→ 502).
    #[error("{provider}: the {what} is unreachable: {reason}")]
    Unreachable {
        provider: String,
        what: &'static str,
        reason: String,
    },
    /// An answer that is not what the protocol says: not JSON (an HTML page), missing fields, an
    /// unexpected status (→ 502).
    #[error("{provider}: bad answer from the {what}: {reason}")]
    BadResponse {
        provider: String,
        what: &'static str,
        reason: String,
    },
    /// The token endpoint refused the code (4xx), e.g. `invalid_grant` for a used or expired code
    /// (→ 400 to the client).
    #[error("{provider} rejected the authorization code: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    CodeRejected {
        provider: String,
        error: String,
        description: Option<String>,
    },
    /// The ID token failed verification: signature, algorithm, issuer, audience, expiry… (→ 502).
    #[error("{provider}: invalid ID token: {reason}")]
    InvalidIdToken { provider: String, reason: String },
    /// The settings cannot work, e.g. no token endpoint and no discovery URL.
    #[error("{provider}: misconfigured: {reason}")]
    Misconfigured { provider: String, reason: String },
}

impl ProviderError {
    /// The provider's name.
    pub fn provider(&self) -> &str {
        match self {
            Self::Timeout { provider, .. }
            | Self::Unreachable { provider, .. }
            | Self::BadResponse { provider, .. }
            | Self::CodeRejected { provider, .. }
            | Self::InvalidIdToken { provider, .. }
            | Self::Misconfigured { provider, .. } => provider,
        }
    }

    /// Whether the provider was too slow (504 rather than 502).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// Whether the fault is the code the client sent (400 rather than 5xx).
    pub fn is_code_rejected(&self) -> bool {
        matches!(self, Self::CodeRejected { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_provider() {
        let rejected = ProviderError::CodeRejected {
            provider: "google".into(),
            error: "invalid_grant".into(),
            description: Some("Bad Request".into()),
        };
        assert_eq!(
            rejected.to_string(),
            "google rejected the authorization code: invalid_grant (Bad Request)"
        );
        assert!(rejected.is_code_rejected());
        let timeout = ProviderError::Timeout {
            provider: "google".into(),
            what: "token endpoint",
        };
        assert!(timeout.is_timeout());
        assert_eq!(timeout.provider(), "google");
        assert_eq!(
            timeout.to_string(),
            "google: the token endpoint did not answer in time"
        );
    }
}
