//! The PostgreSQL backend: one pool. Concurrency is the database's business: rotation is a
//! compare-and-set on the session's generation, and sign-ins that lose a race on a unique index
//! are retried (see `flows.rs`).

use std::str::FromStr;
use std::time::Duration;

use latchkey_core::StoreError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::error::unavailable;
use crate::flows::{impl_store, Pools};
use crate::rotation::RotationQueue;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per process.
const POOL_SIZE: u32 = 10;
/// How long a request waits for a free connection before the store reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The store on a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    rotations: RotationQueue,
}

// By hand: the connection options hold the password.
impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `postgres://…` or `postgresql://…` (libpq-style parameters such as
    /// `sslmode` and `options` are understood). Does not migrate: call
    /// [`PostgresStore::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(unavailable)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            rotations: RotationQueue::start(pool.clone()),
            pool,
        })
    }

    /// Brings the schema up to date (`migrations/postgres`). Safe to run on every start-up and
    /// from several nodes at once (sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(unavailable)
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Pools for PostgresStore {
    type Db = Postgres;

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn rotations(&self) -> &RotationQueue {
        &self.rotations
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

impl_store!(PostgresStore);
