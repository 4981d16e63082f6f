//! The running provider: shared state ([`DevIdp`]), its [`router`], and [`spawn`], which serves it
//! on a listener in a tokio task and hands back a [`DevIdpHandle`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use latchkey_core::Clock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::DevIdpConfig;
use crate::grants::Grants;
use crate::keys::KeyRing;
use crate::{authorize, endpoints, token};

/// Why the dev identity provider could not start or rotate its key.
#[derive(Debug, thiserror::Error)]
pub enum DevIdpError {
    #[error("dev identity provider: listener: {0}")]
    Io(#[from] std::io::Error),
    #[error("dev identity provider: signing key: {0}")]
    Key(String),
}

/// The provider's state; cheap to clone. Build one with [`DevIdp::new`] to mount [`router`] in
/// your own server, or let [`spawn`] do everything.
#[derive(Debug, Clone)]
pub struct DevIdp(pub(crate) Arc<Shared>);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: DevIdpConfig,
    /// Where the provider is reachable, without a trailing slash; the base of every URL it
    /// publishes except `issuer`.
    pub(crate) base_url: String,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: KeyRing,
    pub(crate) grants: Grants,
}

impl DevIdp {
    /// A provider that will be served at `base_url` (e.g. `http://127.0.0.1:8085`). Generates an
    /// RSA-2048 signing key.
    pub async fn new(
        config: DevIdpConfig,
        base_url: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DevIdpError> {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Ok(Self(Arc::new(Shared {
            config,
            base_url,
            clock,
            keys: KeyRing::generate().await?,
            grants: Grants::default(),
        })))
    }

    /// Where the provider is served, e.g. `http://127.0.0.1:8085`.
    pub fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// The URL of its discovery document.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.0.base_url)
    }

    pub fn config(&self) -> &DevIdpConfig {
        &self.0.config
    }

    /// Signs from now on with a fresh key (the previous one stays in the JWKS). Returns its kid.
    pub async fn rotate_key(&self) -> Result<String, DevIdpError> {
        self.0.keys.rotate().await
    }

    /// The kid new ID tokens carry.
    pub fn current_kid(&self) -> String {
        self.0.keys.current_kid()
    }
}

/// All the provider's routes, Google's paths included.
pub fn router(idp: DevIdp) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(endpoints::discovery),
        )
        .route("/o/oauth2/v2/auth", get(authorize::show))
        .route("/o/oauth2/auth", get(authorize::show))
        .route(authorize::APPROVE_PATH, post(authorize::approve))
        .route("/token", post(token::exchange))
        .route("/o/oauth2/token", post(token::exchange))
        .route("/oauth2/v3/certs", get(endpoints::jwks))
        .route("/v1/userinfo", get(endpoints::userinfo))
        .route("/oauth2/v3/userinfo", get(endpoints::userinfo))
        .route("/avatar/{file}", get(endpoints::avatar))
        .with_state(idp)
}

/// Serves a new provider on `listener` in a tokio task. The URLs it publishes are built from the
/// listener's real address, so a listener bound to port 0 works.
pub async fn spawn(
    config: DevIdpConfig,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
) -> Result<DevIdpHandle, DevIdpError> {
    let addr = listener.local_addr()?;
    let idp = DevIdp::new(config, base_url_for(addr), clock).await?;
    let app = router(idp.clone());
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "dev identity provider stopped");
        }
    });
    tracing::info!(base_url = %idp.base_url(), "dev identity provider listening");
    Ok(DevIdpHandle { idp, addr, task })
}

/// `http://IP:PORT` for a bound address; an unspecified address (`0.0.0.0`, `::`) becomes
/// loopback, which is reachable from this machine.
fn base_url_for(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// A running provider. Dropping it stops the server.
#[derive(Debug)]
pub struct DevIdpHandle {
    idp: DevIdp,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl DevIdpHandle {
    /// The address the listener is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        self.idp.base_url()
    }

    /// `http://127.0.0.1:PORT/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        self.idp.discovery_url()
    }

    /// The provider's state, e.g. to read its configuration.
    pub fn idp(&self) -> &DevIdp {
        &self.idp
    }

    /// Signs from now on with a fresh key; see [`DevIdp::rotate_key`].
    pub async fn rotate_key(&self) -> Result<String, DevIdpError> {
        self.idp.rotate_key().await
    }

    /// Stops the server.
    pub fn shutdown(self) {
        // Drop aborts the task.
    }
}

impl Drop for DevIdpHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_become_loopback() {
        let any: SocketAddr = "0.0.0.0:8085".parse().unwrap();
        assert_eq!(base_url_for(any), "http://127.0.0.1:8085");
        let v6: SocketAddr = "[::]:9".parse().unwrap();
        assert_eq!(base_url_for(v6), "http://[::1]:9");
    }
}
