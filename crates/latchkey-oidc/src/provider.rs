//! [`OidcProvider`]: one configured provider with its HTTP client, clock and caches, and the
//! code exchange that signs a person in.

use std::sync::Arc;

use latchkey_core::{Clock, Profile};
use serde_json::{Map, Value};

use crate::discovery::{self, Discovered, DiscoveryCache, Endpoints};
use crate::error::ProviderError;
use crate::http::{clip, json_object, Answer, Peer};
use crate::id_token;
use crate::jwks::{self, JwksCache, KeySet};
use crate::profile;
use crate::settings::ProviderSettings;

const DISCOVERY: &str = "discovery document";
const TOKEN_ENDPOINT: &str = "token endpoint";
const JWKS: &str = "JWKS endpoint";
const USERINFO: &str = "userinfo endpoint";

/// A provider latchkey signs people in with. Cheap to share behind an `Arc`; caches its
/// discovery document and keys.
#[derive(Debug)]
pub struct OidcProvider {
    settings: ProviderSettings,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    discovery: DiscoveryCache,
    jwks: JwksCache,
}

/// What the token endpoint answered.
struct Tokens {
    id_token: String,
    access_token: Option<String>,
}

impl OidcProvider {
    /// `http` carries the outbound timeout (see [`crate::http_client`]); `clock` judges token
    /// expiry and cache ages.
    pub fn new(settings: ProviderSettings, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            http,
            clock,
            discovery: DiscoveryCache::default(),
            jwks: JwksCache::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    /// The provider's endpoints: overrides, else the (cached) discovery document.
    pub async fn endpoints(&self) -> Result<Endpoints, ProviderError> {
        let discovered = if discovery::needs_discovery(&self.settings) {
            Some(self.discovered().await?)
        } else {
            None
        };
        discovery::resolve(self.peer(DISCOVERY), &self.settings, discovered)
    }

    /// Redeems an authorization code and returns who signed in: the code (with `redirect_uri`
    /// exactly as sent to the authorization endpoint, and the PKCE verifier if one was used) is
    /// exchanged with the client secret, the ID token is verified, and userinfo completes a
    /// profile that lacks an e-mail or a name.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Profile, ProviderError> {
        let endpoints = self.endpoints().await?;
        let tokens = self
            .redeem(&endpoints.token_url, code, redirect_uri, code_verifier)
            .await?;
        let claims = self
            .verify_id_token(&endpoints.jwks_url, &tokens.id_token)
            .await?;
        let mut profile = profile::from_claims(&claims);
        if profile::is_incomplete(&profile) {
            if let (Some(url), Some(access_token)) = (&endpoints.userinfo_url, &tokens.access_token)
            {
                let info = self.userinfo(url, access_token).await?;
                profile::complete_from_userinfo(&mut profile, &info)
                    .map_err(|reason| self.peer(USERINFO).bad(reason))?;
            }
        }
        Ok(profile)
    }

    fn peer(&self, what: &'static str) -> Peer<'_> {
        Peer {
            provider: &self.settings.name,
            what,
        }
    }

    fn ttl(&self) -> i64 {
        i64::try_from(self.settings.jwks_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    async fn get_object(
        &self,
        what: &'static str,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let peer = self.peer(what);
        let answer = peer.send(self.http.get(url)).await?;
        peer.ok_object(&answer)
    }

    async fn discovered(&self) -> Result<Discovered, ProviderError> {
        let now = self.clock.now();
        if let Some(doc) = self.discovery.fresh(now, self.ttl()) {
            return Ok(doc);
        }
        let url = self.settings.discovery_url.as_deref().unwrap_or_default();
        let doc = self.get_object(DISCOVERY, url).await?;
        let discovered = discovery::parse(self.peer(DISCOVERY), &self.settings, &doc)?;
        self.discovery.store(discovered.clone(), now);
        Ok(discovered)
    }

    async fn redeem(
        &self,
        token_url: &str,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Tokens, ProviderError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        let peer = self.peer(TOKEN_ENDPOINT);
        let answer = peer
            .send(
                self.http
                    .post(token_url)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .form(&form),
            )
            .await?;
        if answer.status.is_client_error() {
            return Err(self.code_rejected(&answer));
        }
        let body = peer.ok_object(&answer)?;
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(Tokens {
            id_token: text("id_token")
                .ok_or_else(|| peer.bad("no id_token (was the openid scope requested?)"))?,
            access_token: text("access_token"),
        })
    }

    /// A 4xx from the token endpoint: its RFC 6749 `error`, or `http_<status>` without one.
    fn code_rejected(&self, answer: &Answer) -> ProviderError {
        let body = json_object(&answer.body).unwrap_or_default();
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(clip);
        ProviderError::CodeRejected {
            provider: self.settings.name.clone(),
            error: text("error")
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| format!("http_{}", answer.status.as_u16())),
            description: text("error_description"),
        }
    }

    async fn verify_id_token(
        &self,
        jwks_url: &str,
        token: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let invalid = |reason: String| ProviderError::InvalidIdToken {
            provider: self.settings.name.clone(),
            reason,
        };
        let header = id_token::read_header(token).map_err(invalid)?;
        let now = self.clock.now();
        let (keys, just_fetched) = match self.jwks.fresh(now, self.ttl()) {
            Some(keys) => (keys, false),
            None => (self.fetch_jwks(jwks_url).await?, true),
        };
        let kid = header.kid.as_deref();
        let key = match jwks::find(&keys, kid) {
            Some(key) => key,
            None if !just_fetched && self.jwks.may_force_refetch(now) => {
                tracing::debug!(provider = %self.settings.name, ?kid, "unknown kid, refetching JWKS");
                let keys = self.fetch_jwks(jwks_url).await?;
                jwks::find(&keys, kid)
                    .ok_or_else(|| invalid(format!("no published key with kid {kid:?}")))?
            }
            None => return Err(invalid(format!("no published key with kid {kid:?}"))),
        };
        id_token::verify(token, &header, &key, &self.settings, now).map_err(invalid)
    }

    async fn fetch_jwks(&self, url: &str) -> Result<KeySet, ProviderError> {
        let doc = self.get_object(JWKS, url).await?;
        let keys = jwks::parse_jwks(&doc).map_err(|reason| self.peer(JWKS).bad(reason))?;
        self.jwks.store(keys.clone(), self.clock.now());
        Ok(keys)
    }

    async fn userinfo(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let peer = self.peer(USERINFO);
        let answer = peer
            .send(self.http.get(url).bearer_auth(access_token))
            .await?;
        peer.ok_object(&answer)
    }
}
