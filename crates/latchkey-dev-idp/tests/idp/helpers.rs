//! A dev identity provider on a random port, a FakeClock, and a client that does not follow
//! redirects, with one method per step of the code flow.

use std::sync::Arc;

use latchkey_core::FakeClock;
use latchkey_dev_idp::{spawn, DevIdpConfig, DevIdpHandle};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

pub(crate) const CLIENT_ID: &str = "latchkey-dev-client";
pub(crate) const SECRET: &str = "latchkey-dev-secret";
pub(crate) const REDIRECT: &str = "http://localhost:3000/login";
pub(crate) const START: i64 = 1_700_000_000;

pub(crate) struct TestIdp {
    pub(crate) handle: DevIdpHandle,
    pub(crate) clock: Arc<FakeClock>,
    pub(crate) http: reqwest::Client,
}

pub(crate) async fn start() -> TestIdp {
    start_with(DevIdpConfig::default()).await
}

pub(crate) async fn start_with(config: DevIdpConfig) -> TestIdp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let clock = Arc::new(FakeClock::new(START));
    let handle = spawn(config, listener, clock.clone()).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    TestIdp {
        handle,
        clock,
        http,
    }
}

impl TestIdp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    /// `GET /o/oauth2/v2/auth?{query}`.
    pub(crate) async fn authorize(&self, query: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/o/oauth2/v2/auth?{query}")))
            .send()
            .await
            .unwrap()
    }

    /// Fills in the sign-in page as `email` for an authorization request with `extra` params and
    /// returns the code from the redirect.
    pub(crate) async fn sign_in(&self, email: &str, extra: &[(&str, &str)]) -> String {
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email profile"),
        ];
        query.extend_from_slice(extra);
        let page = self
            .http
            .get(self.url("/o/oauth2/v2/auth"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let mut form = hidden_inputs(&html);
        form.push(("email".into(), email.into()));
        form.push(("name".into(), "Ann Marie Lee".into()));
        form.push(("email_verified".into(), "true".into()));
        let location = self.approve(&form).await;
        query_param(&location, "code").unwrap()
    }

    /// Posts the sign-in form and returns the redirect's Location.
    pub(crate) async fn approve(&self, form: &[(String, String)]) -> String {
        let response = self
            .http
            .post(self.url("/o/oauth2/approve"))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        location(&response)
    }

    /// `POST /token` with `form`.
    pub(crate) async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// `POST /token` for `code` with the default client and redirect, plus `extra`.
    pub(crate) async fn redeem(&self, code: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ];
        form.extend_from_slice(extra);
        self.token(&form).await
    }
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub(crate) fn query_param(url: &str, key: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The `name`/`value` pairs of the page's hidden inputs (values unescaped).
pub(crate) fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let end = start + tag[start..].find('"').unwrap();
                unescape(&tag[start..end])
            };
            (attr("name"), attr("value"))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
