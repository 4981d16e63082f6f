//! `TestApp`: a latchkey and a dev identity provider on random ports, a fresh database, a fake
//! clock, and one method per request the tutorial's Nuxt client makes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_api::AppState;
use latchkey_config::Config;
use latchkey_core::{Clock, FakeClock};
use latchkey_dev_idp::{DevIdpConfig, DevIdpHandle};
use latchkey_server::{Application, Dependencies};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub(crate) const CLIENT_ID: &str = "latchkey-dev-client";
pub(crate) const CLIENT_SECRET: &str = "latchkey-dev-secret";
pub(crate) const REDIRECT_URI: &str = "http://localhost:3000/login";
pub(crate) const ORIGIN: &str = "http://localhost:3000";

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) clock: Arc<FakeClock>,
    pub(crate) idp: DevIdpHandle,
    pub(crate) http: reqwest::Client,
    pub(crate) state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    /// The PostgreSQL schema this test runs in, dropped with the app.
    pg_schema: Option<String>,
    _data: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(schema) = self.pg_schema.take() {
            drop_schema(schema);
        }
    }
}

/// Tokens as the token endpoint answered them.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub(crate) access: String,
    pub(crate) refresh: String,
    pub(crate) body: Value,
}

impl Tokens {
    pub(crate) fn from_body(body: Value) -> Self {
        Self {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            body,
        }
    }
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// A latchkey configured as a newcomer would, plus `env` overrides (`LATCHKEY_*` pairs).
    /// The Google provider points at the dev identity provider; `{idp}` in a value is replaced
    /// with its base URL.
    pub(crate) async fn spawn_with(env: &[(&str, &str)]) -> Self {
        let clock = Arc::new(FakeClock::starting_now());
        let idp_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = latchkey_dev_idp::spawn(
            DevIdpConfig::default(),
            idp_listener,
            clock.clone() as Arc<dyn Clock>,
        )
        .await
        .unwrap();

        let data = tempfile::tempdir().unwrap();
        let (database_url, pg_schema) = database(&data).await;
        let data_dir = data.path().display().to_string();
        let discovery = idp.discovery_url();
        let mut vars: Vec<(String, String)> = vec![
            ("LATCHKEY_LISTEN".into(), "127.0.0.1:0".into()),
            ("LATCHKEY_DATA_DIR".into(), data_dir),
            ("LATCHKEY_DATABASE_URL".into(), database_url),
            (
                "LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID".into(),
                CLIENT_ID.into(),
            ),
            (
                "LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET".into(),
                CLIENT_SECRET.into(),
            ),
            (
                "LATCHKEY_PROVIDERS__GOOGLE__DISCOVERY_URL".into(),
                discovery,
            ),
        ];
        for (k, v) in env {
            vars.push(((*k).to_owned(), v.replace("{idp}", idp.base_url())));
        }
        let loaded = Config::load(None, vars).expect("test configuration");
        let deps = Dependencies {
            clock: clock.clone(),
            http: None,
        };
        let app = Application::build(&loaded.config, deps).await.unwrap();
        let addr: SocketAddr = app.local_addr().unwrap();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base: format!("http://{addr}"),
            clock,
            idp,
            http,
            state,
            shutdown: Some(tx),
            pg_schema,
            _data: data,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs `email` in at the dev identity provider's page, as a browser submits it, and
    /// returns the authorization code from the redirect to the SPA's `/login`.
    pub(crate) async fn authorize(
        &self,
        email: &str,
        verified: bool,
        pkce: Option<(&str, &str)>,
    ) -> String {
        let mut form: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid profile email"),
            ("state", "q9iL1Knbqc"),
            ("email", email),
            ("name", "Test Person"),
        ];
        if verified {
            form.push(("email_verified", "on"));
        }
        if let Some((challenge, method)) = pkce {
            form.push(("code_challenge", challenge));
            form.push(("code_challenge_method", method));
        }
        let response = self
            .http
            .post(format!("{}/o/oauth2/approve", self.idp.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let location = response.headers()["location"].to_str().unwrap();
        let url = url::Url::parse(location).unwrap();
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code in redirect")
    }

    /// POSTs a pre-encoded form body to the token endpoint, as auth-next does.
    pub(crate) async fn post_token(&self, body: impl Into<String>) -> Response {
        self.http
            .post(self.url("/social-login/google/"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json, text/plain, */*")
            .header("origin", ORIGIN)
            .body(body.into())
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post_token_json(&self, body: &Value) -> Response {
        self.http
            .post(self.url("/social-login/google/"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The exact code-exchange body of auth-next (bare `audience` and `grant_type`).
    pub(crate) fn exchange_body(code: &str) -> String {
        format!(
            "code={}&client_id={CLIENT_ID}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin&response_type=code&audience&grant_type",
            enc(code)
        )
    }

    /// The exact refresh body of auth-next (`scopes`, plural).
    pub(crate) fn refresh_body(refresh_token: &str) -> String {
        format!(
            "refresh_token={}&scopes=openid%20profile%20email&client_id={CLIENT_ID}&grant_type=refresh_token",
            enc(refresh_token)
        )
    }

    /// Signs in through the dev identity provider and the token endpoint; asserts success.
    pub(crate) async fn login(&self, email: &str) -> Tokens {
        let code = self.authorize(email, true, None).await;
        let response = self.post_token(Self::exchange_body(&code)).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
        Tokens::from_body(response.json().await.unwrap())
    }

    pub(crate) async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_token(Self::refresh_body(refresh_token)).await
    }

    pub(crate) async fn get_user(&self, access: &str) -> Response {
        self.http
            .get(self.url("/auth/user/"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    /// `POST /auth/logout/` with the session's refresh token (scope: this session).
    pub(crate) async fn logout(&self, refresh: &str) -> Response {
        self.http
            .post(self.url("/auth/logout/"))
            .json(&json!({ "refresh": refresh }))
            .send()
            .await
            .unwrap()
    }

    /// latchkey's published keys.
    pub(crate) async fn jwks(&self) -> Value {
        let response = self
            .http
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        json(response, StatusCode::OK).await
    }

    pub(crate) fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

/// The database URL for one test: a SQLite file in `data`, or, for the PostgreSQL build of the
/// suite, a fresh schema on `LATCHKEY_TEST_DATABASE_URL` (falling back to SQLite, with a note,
/// when that is unset).
async fn database(data: &TempDir) -> (String, Option<String>) {
    if crate::ON_POSTGRES {
        if let Ok(base) = std::env::var("LATCHKEY_TEST_DATABASE_URL") {
            let schema = format!("latchkey_api_{}", uuid::Uuid::new_v4().simple());
            let pool = sqlx::PgPool::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            let separator = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
            return (url, Some(schema));
        }
        eprintln!("LATCHKEY_TEST_DATABASE_URL is not set: this PostgreSQL test runs on SQLite");
    }
    let url = format!("sqlite://{}/latchkey.db", data.path().display());
    (url, None)
}

/// Drops a test's schema, from a thread of its own (`Drop` cannot await).
fn drop_schema(schema: String) {
    let Ok(base) = std::env::var("LATCHKEY_TEST_DATABASE_URL") else {
        return;
    };
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&base).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
    })
    .join();
    if dropped.is_err() {
        eprintln!("could not drop the test schema");
    }
}

pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Asserts status and returns the JSON body.
pub(crate) async fn json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A JWT's payload, decoded without verification (what the Nuxt client does).
pub(crate) fn payload(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
