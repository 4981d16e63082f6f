//! Builds the configured identity providers and adapts `latchkey-oidc` to the token endpoint's
//! [`SignInProvider`] interface.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use latchkey_api::{ProviderFailure, SignInProvider};
use latchkey_config::Config;
use latchkey_core::{Clock, Profile};
use latchkey_oidc::{OidcProvider, ProviderError, ProviderSettings};

/// One provider per `providers.<name>` entry of the configuration.
pub(crate) fn build(
    config: &Config,
    http: &reqwest::Client,
    clock: &Arc<dyn Clock>,
) -> HashMap<String, Arc<dyn SignInProvider>> {
    config
        .providers
        .iter()
        .map(|(name, p)| {
            let settings = ProviderSettings {
                name: name.clone(),
                client_id: p.client_id.clone(),
                client_secret: p.client_secret.clone(),
                discovery_url: Some(p.discovery_url.clone()),
                issuer: p.issuer.clone(),
                extra_issuers: Vec::new(),
                authorization_url: p.authorization_url.clone(),
                token_url: p.token_url.clone(),
                jwks_url: p.jwks_url.clone(),
                userinfo_url: p.userinfo_url.clone(),
                link_verified_email: p.link_verified_email,
                jwks_ttl: std::time::Duration::from_secs(3600),
            };
            let provider = OidcSignIn(OidcProvider::new(settings, http.clone(), clock.clone()));
            (name.clone(), Arc::new(provider) as Arc<dyn SignInProvider>)
        })
        .collect()
}

#[derive(Debug)]
struct OidcSignIn(OidcProvider);

#[async_trait]
impl SignInProvider for OidcSignIn {
    fn link_verified_email(&self) -> bool {
        self.0.settings().link_verified_email
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Profile, ProviderFailure> {
        self.0
            .exchange_code(code, redirect_uri, code_verifier)
            .await
            .map_err(|e| failure(&e))
    }
}

fn failure(err: &ProviderError) -> ProviderFailure {
    let provider = err.provider().to_owned();
    match err {
        ProviderError::Timeout { .. } => ProviderFailure::Timeout { provider },
        ProviderError::CodeRejected { .. } => ProviderFailure::CodeRejected {
            provider,
            description: err.to_string(),
        },
        _ => ProviderFailure::Failed {
            provider,
            reason: err.to_string(),
        },
    }
}
