//! Where a provider's endpoints are: [`Endpoints`], from the settings' overrides first and the
//! discovery document second. The document is fetched on first use and cached for the TTL; a
//! failed fetch is not cached.

use std::sync::Mutex;

use latchkey_core::UnixTime;
use serde_json::{Map, Value};

use crate::error::ProviderError;
use crate::http::{clip, Peer};
use crate::settings::ProviderSettings;

/// A provider's endpoints as latchkey uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Where the browser is sent to sign in; `None` if neither configured nor discovered.
    pub authorization_url: Option<String>,
    pub token_url: String,
    pub jwks_url: String,
    /// `None` if neither configured nor discovered: the ID token must then carry the profile.
    pub userinfo_url: Option<String>,
}

/// The parts of a discovery document latchkey reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Discovered {
    authorization_url: Option<String>,
    token_url: Option<String>,
    jwks_url: Option<String>,
    userinfo_url: Option<String>,
}

/// The cached discovery document.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    cached: Mutex<Option<(Discovered, UnixTime)>>,
}

impl DiscoveryCache {
    /// The cached document if fetched less than `ttl` seconds before `now`.
    pub(crate) fn fresh(&self, now: UnixTime, ttl: i64) -> Option<Discovered> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|(_, at)| now.saturating_sub(*at) < ttl)
            .map(|(doc, _)| doc.clone())
    }

    pub(crate) fn store(&self, doc: Discovered, now: UnixTime) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((doc, now));
    }
}

/// Whether `settings` need the discovery document at all: only when some endpoint is not
/// overridden and there is a document to ask.
pub(crate) fn needs_discovery(settings: &ProviderSettings) -> bool {
    settings.discovery_url.is_some()
        && (settings.token_url.is_none()
            || settings.jwks_url.is_none()
            || settings.userinfo_url.is_none()
            || settings.authorization_url.is_none())
}

/// Reads a discovery document. Its `issuer` must be one the settings accept (OpenID Connect
/// Discovery §4.3), so a document for another provider is refused.
pub(crate) fn parse(
    peer: Peer<'_>,
    settings: &ProviderSettings,
    doc: &Map<String, Value>,
) -> Result<Discovered, ProviderError> {
    let text = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let issuer = text("issuer").ok_or_else(|| peer.bad("no issuer"))?;
    if !settings.accepts_issuer(&issuer) {
        return Err(peer.bad(format!(
            "issuer \"{}\" is not the configured \"{}\"",
            clip(&issuer),
            settings.issuer
        )));
    }
    Ok(Discovered {
        authorization_url: text("authorization_endpoint"),
        token_url: text("token_endpoint"),
        jwks_url: text("jwks_uri"),
        userinfo_url: text("userinfo_endpoint"),
    })
}

/// Overrides first, then the document. `peer` names the discovery document for errors.
pub(crate) fn resolve(
    peer: Peer<'_>,
    settings: &ProviderSettings,
    discovered: Option<Discovered>,
) -> Result<Endpoints, ProviderError> {
    let doc = discovered.unwrap_or_default();
    let from_doc = discovered_or_missing(peer, settings);
    Ok(Endpoints {
        authorization_url: settings.authorization_url.clone().or(doc.authorization_url),
        token_url: settings
            .token_url
            .clone()
            .or(doc.token_url)
            .ok_or_else(|| from_doc("token_endpoint"))?,
        jwks_url: settings
            .jwks_url
            .clone()
            .or(doc.jwks_url)
            .ok_or_else(|| from_doc("jwks_uri"))?,
        userinfo_url: settings.userinfo_url.clone().or(doc.userinfo_url),
    })
}

/// The error for an endpoint found nowhere: the document lacks it, or there is no document.
fn discovered_or_missing<'a>(
    peer: Peer<'a>,
    settings: &'a ProviderSettings,
) -> impl Fn(&str) -> ProviderError + 'a {
    move |field| {
        if settings.discovery_url.is_some() {
            peer.bad(format!("no {field}"))
        } else {
            ProviderError::Misconfigured {
                provider: settings.name.clone(),
                reason: format!("no discovery_url and no override for {field}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use latchkey_core::Secret;
    use serde_json::json;

    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings::google("cid", Secret::new("s"))
    }

    const PEER: Peer<'static> = Peer {
        provider: "google",
        what: "discovery document",
    };

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn overrides_win_over_the_document() {
        let mut settings = settings();
        settings.token_url = Some("http://override/token".into());
        let doc = object(json!({
            "issuer": "https://accounts.google.com",
            "token_endpoint": "http://doc/token",
            "jwks_uri": "http://doc/certs",
        }));
        let discovered = parse(PEER, &settings, &doc).unwrap();
        let endpoints = resolve(PEER, &settings, Some(discovered)).unwrap();
        assert_eq!(endpoints.token_url, "http://override/token");
        assert_eq!(endpoints.jwks_url, "http://doc/certs");
        assert_eq!(endpoints.userinfo_url, None);
    }

    #[test]
    fn a_document_for_another_issuer_is_refused() {
        let doc = object(json!({ "issuer": "https://evil.example", "token_endpoint": "x" }));
        let error = parse(PEER, &settings(), &doc).unwrap_err();
        assert!(
            matches!(error, ProviderError::BadResponse { .. }),
            "{error}"
        );
    }

    #[test]
    fn without_discovery_the_overrides_must_be_complete() {
        let mut settings = settings();
        settings.discovery_url = None;
        settings.token_url = Some("http://t".into());
        assert!(!needs_discovery(&settings));
        let error = resolve(PEER, &settings, None).unwrap_err();
        assert!(
            matches!(error, ProviderError::Misconfigured { .. }),
            "{error}"
        );
        settings.jwks_url = Some("http://j".into());
        assert!(resolve(PEER, &settings, None).is_ok());
    }
}
