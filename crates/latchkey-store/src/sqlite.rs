//! The SQLite backend.
//!
//! SQLite allows one writer at a time. Two pools keep writers from ever contending inside this
//! process: `writer` has a single connection and every statement or transaction that writes
//! goes through it (transactions begin with `BEGIN IMMEDIATE`, so none holds a read lock it
//! later has to upgrade, the classic `SQLITE_BUSY` deadlock); `reader` has a few connections
//! for reads, which WAL lets run beside the writer. `busy_timeout` covers other processes
//! (say, a `migrate` run) that hold the write lock for a moment.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use latchkey_core::StoreError;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::error::unavailable;
use crate::flows::{impl_store, Pools};
use crate::rotation::RotationQueue;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections. Reads are short primary-key lookups; a few are plenty.
const READERS: u32 = 4;

/// The store on an SQLite database file (or in memory, for tests and trials).
#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    pub(crate) writer: SqlitePool,
    rotations: RotationQueue,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.reader.size())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens `sqlite://path/to/file.db` (creating the file and its folder if missing) or
    /// `sqlite::memory:`. Does not migrate: call [`SqliteStore::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(unavailable)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        if is_in_memory(url) {
            // Every connection to `:memory:` would be its own database unless they share one;
            // simplest is a single connection that lives as long as the pool.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(unavailable)?;
            return Ok(Self {
                reader: pool.clone(),
                rotations: RotationQueue::start(pool.clone()),
                writer: pool,
            });
        }

        create_parent_dir(options.get_filename()).await?;
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        // The writer connects first, so that it is the one to switch the file to WAL.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            reader,
            rotations: RotationQueue::start(writer.clone()),
            writer,
        })
    }

    /// Brings the schema up to date (`migrations/sqlite`). Safe to run on every start-up.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await.map_err(unavailable)
    }

    /// Closes the pools, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

impl Pools for SqliteStore {
    type Db = Sqlite;

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn rotations(&self) -> &RotationQueue {
        &self.rotations
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

impl_store!(SqliteStore);

/// `sqlite::memory:` or a `mode=memory` URI.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

async fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => tokio::fs::create_dir_all(dir)
            .await
            .map_err(|err| unavailable(format!("creating {}: {err}", dir.display()))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use latchkey_core::Store;

    use super::*;

    #[tokio::test]
    async fn migrations_run_twice_and_the_file_and_folder_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/folder/latchkey.db");
        let url = format!("sqlite://{}", path.display());

        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;

        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
        assert!(path.exists());
    }

    #[tokio::test]
    async fn an_in_memory_database_keeps_its_schema_across_calls() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.user(1).await.unwrap(), None);
        assert_eq!(store.session("nope").await.unwrap(), None);
    }
}
