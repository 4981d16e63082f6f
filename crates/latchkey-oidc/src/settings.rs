//! [`ProviderSettings`]: what latchkey knows about one identity provider before talking to it.

use std::time::Duration;

use latchkey_core::Secret;

/// Google's issuer, as it appears in its discovery document and ID tokens.
pub(crate) const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// One configured OpenID Connect provider. Endpoints come from the discovery document unless
/// overridden here (which is how the dev identity provider and tests stand in for Google).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The provider's name in latchkey's URLs and in every error, e.g. `google`.
    pub name: String,
    pub client_id: String,
    /// Redacted in `Debug`; sent only to the token endpoint.
    pub client_secret: Secret,
    /// Where the discovery document is; `None` means every endpoint needed is overridden.
    pub discovery_url: Option<String>,
    /// The `iss` ID tokens must carry. For `https://accounts.google.com`, `accounts.google.com`
    /// is accepted too (Google uses both).
    pub issuer: String,
    /// Further accepted issuers.
    pub extra_issuers: Vec<String>,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub jwks_url: Option<String>,
    pub userinfo_url: Option<String>,
    /// Whether a verified e-mail from this provider may link to an existing user with that
    /// e-mail. Read by the sign-in logic, not here.
    pub link_verified_email: bool,
    /// How long the discovery document and the JWKS are cached.
    pub jwks_ttl: Duration,
}

impl ProviderSettings {
    /// A provider found by discovery at `{issuer}/.well-known/openid-configuration`, not trusted
    /// for e-mail linking, keys cached for an hour.
    pub fn new(
        name: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
        issuer: impl Into<String>,
    ) -> Self {
        let issuer: String = issuer.into();
        Self {
            name: name.into(),
            client_id: client_id.into(),
            client_secret,
            discovery_url: Some(format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            )),
            issuer,
            extra_issuers: Vec::new(),
            authorization_url: None,
            token_url: None,
            jwks_url: None,
            userinfo_url: None,
            link_verified_email: false,
            jwks_ttl: Duration::from_secs(3600),
        }
    }

    /// Google (`name` `google`), trusted for linking verified e-mails.
    pub fn google(client_id: impl Into<String>, client_secret: Secret) -> Self {
        Self {
            link_verified_email: true,
            ..Self::new("google", client_id, client_secret, GOOGLE_ISSUER)
        }
    }

    /// Whether `iss` is one this provider's tokens may carry.
    pub(crate) fn accepts_issuer(&self, iss: &str) -> bool {
        iss == self.issuer
            || self.extra_issuers.iter().any(|extra| extra == iss)
            || (self.issuer == GOOGLE_ISSUER && iss == "accounts.google.com")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_contain_the_secret() {
        let settings = ProviderSettings::google("cid", Secret::new("GOCSPX-very-secret"));
        let debug = format!("{settings:?}");
        assert!(!debug.contains("GOCSPX-very-secret"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn google_accepts_both_of_its_issuers() {
        let mut settings = ProviderSettings::google("cid", Secret::new("s"));
        assert!(settings.accepts_issuer("https://accounts.google.com"));
        assert!(settings.accepts_issuer("accounts.google.com"));
        assert!(!settings.accepts_issuer("https://evil.example"));
        settings.extra_issuers.push("https://evil.example".into());
        assert!(settings.accepts_issuer("https://evil.example"));
        assert_eq!(
            settings.discovery_url.as_deref(),
            Some("https://accounts.google.com/.well-known/openid-configuration")
        );
    }

    #[test]
    fn other_providers_accept_only_their_issuer() {
        let settings = ProviderSettings::new("x", "c", Secret::new("s"), "https://x.example/");
        assert!(settings.accepts_issuer("https://x.example/"));
        assert!(!settings.accepts_issuer("accounts.google.com"));
        assert!(!settings.link_verified_email);
        assert_eq!(
            settings.discovery_url.as_deref(),
            Some("https://x.example/.well-known/openid-configuration")
        );
    }
}
