//! Shared state of the handlers.

use std::collections::HashMap;
use std::sync::Arc;

use latchkey_core::{Clock, Store};
use latchkey_tokens::TokenService;

use crate::provider::SignInProvider;

/// Settings the HTTP layer needs that the token service does not hold.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Exact origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// Exact `redirect_uri` values a code exchange may name.
    pub redirect_uris: Vec<String>,
    /// Seconds during which the previous refresh token of a session still answers.
    pub refresh_reuse_grace: i64,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tokens: Arc<TokenService>,
    pub(crate) providers: HashMap<String, Arc<dyn SignInProvider>>,
    pub(crate) settings: ApiSettings,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        tokens: Arc<TokenService>,
        providers: HashMap<String, Arc<dyn SignInProvider>>,
        settings: ApiSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                tokens,
                providers,
                settings,
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn tokens(&self) -> &TokenService {
        &self.inner.tokens
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }
}
