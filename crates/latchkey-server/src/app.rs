//! Building and running the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use latchkey_api::{ApiSettings, AppState};
use latchkey_config::Config;
use latchkey_core::{Clock, Store, SystemClock};
use latchkey_store::{Backend, CachedStore};
use latchkey_tokens::{TokenService, TokenSettings};
use tokio::net::TcpListener;

use crate::{keys, providers};

/// What the server takes from outside besides its configuration: time and the outbound HTTP
/// client. Tests pass a `FakeClock`.
#[derive(Debug, Clone)]
pub struct Dependencies {
    pub clock: Arc<dyn Clock>,
    /// The client for calls to identity providers; `None` builds one with the configured timeout.
    pub http: Option<reqwest::Client>,
}

impl Default for Dependencies {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            http: None,
        }
    }
}

/// A latchkey server, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens (and migrates) the database, loads or generates the signing key, builds the
    /// providers and binds `config.listen`.
    pub async fn build(config: &Config, deps: Dependencies) -> anyhow::Result<Self> {
        let database_url = config.database_url();
        let store = latchkey_store::connect_and_migrate(database_url.expose())
            .await
            .context("opening the database")?;
        let store = with_user_cache(store, config, database_url.expose());
        let keys = keys::load_or_generate(config.signing_key.as_ref(), &config.data_dir)?;
        let tokens = TokenService::new(
            keys,
            TokenSettings {
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                access_lifetime: seconds(config.access_token_lifetime),
                refresh_lifetime: seconds(config.refresh_token_lifetime),
            },
        );
        let http = match deps.http {
            Some(http) => http,
            None => latchkey_oidc::http_client(config.provider_timeout)
                .context("building the HTTP client")?,
        };
        let providers = providers::build(config, &http, &deps.clock);
        let settings = ApiSettings {
            cors_origins: config.cors_origins.clone(),
            redirect_uris: config.redirect_uris.clone(),
            refresh_reuse_grace: seconds(config.refresh_reuse_grace),
            max_body_bytes: config.max_body_bytes,
        };
        let state = AppState::new(store, deps.clock, Arc::new(tokens), providers, settings);
        let router = latchkey_api::router(state.clone());
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The address actually bound (the real port when configured with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state, for tests and embedders (store, token service).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight and closes the
    /// database connections.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        self.state.store().close().await;
        served
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Puts the [`CachedStore`] in front of the store when configured, and by default on SQLite,
/// where this process is the only writer (see `user_cache_ttl` in docs/CONFIG.md).
fn with_user_cache(store: Arc<dyn Store>, config: &Config, database_url: &str) -> Arc<dyn Store> {
    let default = match Backend::of_url(database_url) {
        Some(Backend::Sqlite) => Duration::from_secs(1),
        _ => Duration::ZERO,
    };
    let ttl = config.user_cache_ttl.unwrap_or(default);
    if ttl.is_zero() {
        return store;
    }
    // Whole seconds, like every time in latchkey; anything under a second means one.
    Arc::new(CachedStore::new(store, seconds(ttl).max(1)))
}

fn seconds(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
