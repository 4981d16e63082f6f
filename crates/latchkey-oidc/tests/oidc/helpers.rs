//! The dev identity provider on a random port, its own FakeClock and one for the client, and
//! signing in there without a browser.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::{FakeClock, Secret};
use latchkey_dev_idp::{spawn, DevIdpConfig, DevIdpHandle};
use latchkey_oidc::{http_client, OidcProvider, ProviderSettings};
use reqwest::redirect::Policy;
use reqwest::Url;

pub(crate) const CLIENT_ID: &str = "latchkey-dev-client";
pub(crate) const SECRET: &str = "latchkey-dev-secret";
pub(crate) const REDIRECT: &str = "http://localhost:3000/login";
pub(crate) const START: i64 = 1_700_000_000;

pub(crate) struct TestIdp {
    pub(crate) handle: DevIdpHandle,
    /// The client's clock, separate so tests can skew it.
    pub(crate) clock: Arc<FakeClock>,
    browser: reqwest::Client,
}

pub(crate) async fn start_idp() -> TestIdp {
    start_idp_with(DevIdpConfig::default()).await
}

pub(crate) async fn start_idp_with(config: DevIdpConfig) -> TestIdp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_clock = Arc::new(FakeClock::new(START));
    let handle = spawn(config, listener, idp_clock).await.unwrap();
    TestIdp {
        handle,
        clock: Arc::new(FakeClock::new(START)),
        browser: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
    }
}

/// Google settings pointed at the dev identity provider's discovery document.
pub(crate) fn settings_for(idp: &TestIdp) -> ProviderSettings {
    ProviderSettings {
        discovery_url: Some(idp.handle.discovery_url()),
        ..ProviderSettings::google(CLIENT_ID, Secret::new(SECRET))
    }
}

pub(crate) fn provider(settings: ProviderSettings, clock: Arc<FakeClock>) -> OidcProvider {
    OidcProvider::new(
        settings,
        http_client(Duration::from_secs(5)).unwrap(),
        clock,
    )
}

impl TestIdp {
    /// A client for this provider with default Google settings.
    pub(crate) fn provider(&self) -> OidcProvider {
        provider(settings_for(self), self.clock.clone())
    }

    /// Approves an authorization request as `email` (the sign-in page's form, posted directly)
    /// and returns the code.
    pub(crate) async fn sign_in(
        &self,
        email: &str,
        verified: bool,
        extra: &[(&str, &str)],
    ) -> String {
        let mut form = vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("email", email),
            ("name", "Ann Marie Lee"),
        ];
        if verified {
            form.push(("email_verified", "true"));
        }
        form.extend_from_slice(extra);
        let response = self
            .browser
            .post(format!("{}/o/oauth2/approve", self.handle.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }
}

/// A port on 127.0.0.1 with nothing listening.
pub(crate) async fn dead_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
