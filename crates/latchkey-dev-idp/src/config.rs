//! What the dev identity provider pretends to be ([`DevIdpConfig`]) and the guard that keeps it
//! out of production.

use std::time::Duration;

use latchkey_core::Secret;

/// Settings of the dev identity provider. The defaults make it look like Google to a client
/// configured with client id `latchkey-dev-client` and secret `latchkey-dev-secret`.
#[derive(Debug, Clone)]
pub struct DevIdpConfig {
    /// The `iss` of its ID tokens and of its discovery document. Deliberately Google's issuer and
    /// not its own URL, so a client configured for Google accepts its tokens unchanged.
    pub issuer: String,
    /// The only client it knows.
    pub client_id: String,
    /// That client's secret.
    pub client_secret: Secret,
    /// Approve every authorization request that carries a `login_hint` without showing the page.
    pub auto_approve: bool,
    /// How long an authorization code may be exchanged.
    pub code_lifetime: Duration,
    /// Lifetime of ID and access tokens.
    pub token_lifetime: Duration,
}

impl Default for DevIdpConfig {
    fn default() -> Self {
        Self {
            issuer: "https://accounts.google.com".to_owned(),
            client_id: "latchkey-dev-client".to_owned(),
            client_secret: Secret::new("latchkey-dev-secret"),
            auto_approve: false,
            code_lifetime: Duration::from_secs(5 * 60),
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// The dev identity provider was asked to start with `LATCHKEY_ENV=production`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the dev identity provider lets anyone sign in as anyone and never runs with LATCHKEY_ENV=production")]
pub struct RefusedInProduction;

/// Errors when `latchkey_env` (the value of `LATCHKEY_ENV`) is `production`.
pub fn refuse_in_production(latchkey_env: Option<&str>) -> Result<(), RefusedInProduction> {
    match latchkey_env {
        Some(env) if env.trim().eq_ignore_ascii_case("production") => Err(RefusedInProduction),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_refused() {
        assert_eq!(
            refuse_in_production(Some("production")),
            Err(RefusedInProduction)
        );
        assert!(refuse_in_production(Some(" Production ")).is_err());
        assert!(refuse_in_production(Some("development")).is_ok());
        assert!(refuse_in_production(Some("")).is_ok());
        assert!(refuse_in_production(None).is_ok());
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let debug = format!("{:?}", DevIdpConfig::default());
        assert!(!debug.contains("latchkey-dev-secret"), "{debug}");
    }
}
