//! latchkey's storage: [`latchkey_core::Store`] for SQLite and PostgreSQL, with sqlx.
//!
//! The server picks the backend once, from the database URL ([`connect`]), and everything else
//! sees `Arc<dyn Store>`. Both backends run the same SQL (`queries.rs`) and the same logic
//! (`flows.rs`); what differs is the pooling (`sqlite.rs`, `postgres.rs`) and the schema
//! dialect (`migrations/sqlite`, `migrations/postgres`, embedded in the binary).
//!
//! The store never reads the clock: every method that needs the time takes `now`.
//!
//! ```no_run
//! # async fn start() -> Result<(), latchkey_core::StoreError> {
//! let store = latchkey_store::connect_and_migrate("sqlite://latchkey-data/latchkey.db").await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use latchkey_core::{Store, StoreError};

pub mod bench_support;
mod cache;
mod error;
mod flows;
mod postgres;
mod queries;
mod rotation;
mod rows;
mod sqlite;

pub use cache::CachedStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path`, `sqlite:path` or `sqlite::memory:`.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Backend {
    /// The backend of `url`, by its scheme; `None` for anything else.
    pub fn of_url(url: &str) -> Option<Self> {
        let (scheme, _) = url.split_once(':')?;
        match scheme {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// Connects to the database at `url`, choosing the backend by its scheme. Does not migrate.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match backend(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url).await?),
    })
}

/// Connects to the database at `url` and brings its schema up to date (server start-up).
pub async fn connect_and_migrate(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match backend(url)? {
        Backend::Sqlite => {
            let store = SqliteStore::connect(url).await?;
            store.migrate().await?;
            Arc::new(store)
        }
        Backend::Postgres => {
            let store = PostgresStore::connect(url).await?;
            store.migrate().await?;
            Arc::new(store)
        }
    })
}

/// Brings the schema of the database at `url` up to date, then closes the connection (the
/// `migrate` command). Running it again changes nothing.
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    match backend(url)? {
        Backend::Sqlite => {
            let store = SqliteStore::connect(url).await?;
            let migrated = store.migrate().await;
            store.close().await;
            migrated
        }
        Backend::Postgres => {
            let store = PostgresStore::connect(url).await?;
            let migrated = store.migrate().await;
            store.close().await;
            migrated
        }
    }
}

fn backend(url: &str) -> Result<Backend, StoreError> {
    // The URL may hold a password: never echo it.
    Backend::of_url(url).ok_or_else(|| {
        StoreError::Unavailable(
            "unsupported database URL: expected sqlite:…, postgres://… or postgresql://…".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_comes_from_the_url_scheme() {
        assert_eq!(Backend::of_url("sqlite://data/l.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgres://u:p@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://h/db"), None);
        assert_eq!(Backend::of_url("latchkey.db"), None);
    }

    #[tokio::test]
    async fn an_unsupported_url_is_refused_without_echoing_it() {
        let err = connect("mysql://root:hunter2@h/db").await.unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
