//! A small provider of our own that answers whatever a test tells it to: a fixed token-endpoint
//! answer (optionally late), a JWKS, userinfo, and counters of how often each was asked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_core::{FakeClock, Secret};
use latchkey_oidc::{OidcProvider, ProviderSettings};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::helpers::{provider, CLIENT_ID, SECRET, START};

/// An RSA-2048 test key.
pub(crate) struct TestKey {
    kid: String,
    encoding: EncodingKey,
    pub(crate) jwk: Value,
}

impl TestKey {
    pub(crate) fn generate(kid: &str) -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let jwk = json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk,
        }
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }
}

/// Claims Google would put in an ID token issued at [`START`].
pub(crate) fn google_claims() -> Value {
    json!({
        "iss": "https://accounts.google.com",
        "azp": CLIENT_ID,
        "aud": CLIENT_ID,
        "sub": "110169484474386276334",
        "email": "ann@example.com",
        "email_verified": true,
        "given_name": "Ann",
        "family_name": "Lee",
        "iat": START,
        "exp": START + 3600,
    })
}

/// A token-endpoint answer that carries `id_token`.
pub(crate) fn token_answer(id_token: &str) -> String {
    json!({
        "access_token": "ya29.fake",
        "expires_in": 3599,
        "token_type": "Bearer",
        "scope": "openid email profile",
        "id_token": id_token,
    })
    .to_string()
}

/// What the fake provider answers.
#[derive(Clone)]
pub(crate) struct Script {
    pub(crate) token_status: StatusCode,
    pub(crate) token_content_type: &'static str,
    pub(crate) token_body: String,
    pub(crate) token_delay: Duration,
    pub(crate) jwks: Value,
    pub(crate) userinfo: Value,
}

impl Script {
    /// A JSON 200 from the token endpoint with `body`, and `jwks`.
    pub(crate) fn json(body: String, jwks: Value) -> Self {
        Self {
            token_status: StatusCode::OK,
            token_content_type: "application/json",
            token_body: body,
            token_delay: Duration::ZERO,
            jwks,
            userinfo: json!({}),
        }
    }
}

#[derive(Default)]
pub(crate) struct Hits {
    pub(crate) token: AtomicUsize,
    pub(crate) jwks: AtomicUsize,
}

pub(crate) struct Fake {
    pub(crate) base_url: String,
    pub(crate) hits: Arc<Hits>,
    pub(crate) clock: Arc<FakeClock>,
}

impl Fake {
    pub(crate) async fn start(script: Script) -> Self {
        let hits = Arc::new(Hits::default());
        let script = Arc::new(script);
        let app = Router::new()
            .route(
                "/token",
                post({
                    let (script, hits) = (script.clone(), hits.clone());
                    move || async move {
                        hits.token.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(script.token_delay).await;
                        (
                            script.token_status,
                            [(header::CONTENT_TYPE, script.token_content_type)],
                            script.token_body.clone(),
                        )
                    }
                }),
            )
            .route(
                "/certs",
                get({
                    let (script, hits) = (script.clone(), hits.clone());
                    move || async move {
                        hits.jwks.fetch_add(1, Ordering::SeqCst);
                        axum::Json(script.jwks.clone())
                    }
                }),
            )
            .route(
                "/userinfo",
                get({
                    let script = script.clone();
                    move || async move { axum::Json(script.userinfo.clone()) }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url,
            hits,
            clock: Arc::new(FakeClock::new(START)),
        }
    }

    /// Google settings with every endpoint overridden to this server, no discovery.
    pub(crate) fn settings(&self) -> ProviderSettings {
        ProviderSettings {
            discovery_url: None,
            token_url: Some(format!("{}/token", self.base_url)),
            jwks_url: Some(format!("{}/certs", self.base_url)),
            userinfo_url: Some(format!("{}/userinfo", self.base_url)),
            ..ProviderSettings::google(CLIENT_ID, Secret::new(SECRET))
        }
    }

    pub(crate) fn provider(&self) -> OidcProvider {
        provider(self.settings(), self.clock.clone())
    }

    /// A sign-in with a fresh provider that must fail: its error.
    pub(crate) async fn exchange_error(&self) -> latchkey_oidc::ProviderError {
        self.provider()
            .exchange_code("c", crate::helpers::REDIRECT, None)
            .await
            .unwrap_err()
    }
}
