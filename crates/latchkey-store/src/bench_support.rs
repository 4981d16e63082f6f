//! Bulk seeding, for benchmarks: puts many users, their identities and live sessions into a
//! database without going through sign-in one by one.
//!
//! The rows are the same as [`latchkey_core::Store::sign_in`] writes: a seeded person signs in
//! again through a provider that asserts the same `(provider, subject)` (and gets their seeded
//! user back), and a seeded session is live until `now + session_lifetime`. Seeding only adds
//! rows: it never changes or removes existing ones, and user ids continue after every id handed
//! out before (also those of deleted users), so seeding a database in use is safe.
//!
//! Rows are written with multi-row `INSERT`s ([`ROWS_PER_STATEMENT`] rows each) in transactions
//! of [`USERS_PER_TRANSACTION`] users; on SQLite one million users with one session each take a
//! few seconds. Nothing here is used by the server.
//!
//! ```no_run
//! # async fn run() -> Result<(), latchkey_core::StoreError> {
//! use latchkey_store::bench_support::{seed, SeedPerson, SeedPlan};
//! let person = |n: u64| SeedPerson {
//!     username: format!("seed{n}"),
//!     email: format!("seed{n}@bench.example"),
//!     subject: format!("subject-{n}"),
//!     first_name: "Seed".into(),
//!     last_name: format!("{n}"),
//! };
//! let plan = SeedPlan {
//!     provider: "google",
//!     first: 0,
//!     users: 1_000_000,
//!     sessions_per_user: 1,
//!     now: 1_700_000_000,
//!     session_lifetime: 30 * 24 * 3600,
//!     person: &person,
//! };
//! let report = seed("sqlite://latchkey-data/latchkey.db", &plan).await?;
//! assert_eq!(report.users, 1_000_000);
//! # Ok(()) }
//! ```

use std::hash::BuildHasher as _;

use latchkey_core::{StoreError, UnixTime, UserId};
use sqlx::QueryBuilder;

use crate::error::unavailable;
use crate::flows::Pools;
use crate::{Backend, PostgresStore, SqliteStore};

/// Rows per `INSERT` statement (users have 7 bound columns: 7,000 parameters, below both
/// SQLite's 32,766 and Postgres's 65,535).
pub const ROWS_PER_STATEMENT: usize = 1_000;

/// Users (with their identities and sessions) per transaction.
pub const USERS_PER_TRANSACTION: u64 = 50_000;

/// The person behind seeded user number `n`. Usernames and e-mails must be unique
/// (case-insensitively) among themselves and the users already in the database, subjects unique
/// per provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedPerson {
    pub username: String,
    pub email: String,
    pub subject: String,
    pub first_name: String,
    pub last_name: String,
}

/// What to seed: users `first .. first + users`, each with one identity of `provider` and
/// `sessions_per_user` sessions created at `now` and live until `now + session_lifetime`. Seeded
/// e-mails count as verified by the provider.
pub struct SeedPlan<'a> {
    pub provider: &'a str,
    /// The number of the first person (`person(first)`), so a database can be seeded in parts.
    pub first: u64,
    pub users: u64,
    pub sessions_per_user: u32,
    pub now: UnixTime,
    pub session_lifetime: i64,
    pub person: &'a (dyn Fn(u64) -> SeedPerson + Send + Sync),
}

impl std::fmt::Debug for SeedPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedPlan")
            .field("provider", &self.provider)
            .field("first", &self.first)
            .field("users", &self.users)
            .field("sessions_per_user", &self.sessions_per_user)
            .finish_non_exhaustive()
    }
}

/// What was seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub users: u64,
    pub sessions: u64,
    /// The smallest and largest user id handed out (`None` when `users` was 0).
    pub user_ids: Option<(UserId, UserId)>,
}

/// Connects to `url`, brings its schema up to date, seeds it as `plan` says and closes the
/// connection.
pub async fn seed(url: &str, plan: &SeedPlan<'_>) -> Result<SeedReport, StoreError> {
    match Backend::of_url(url) {
        Some(Backend::Sqlite) => {
            let store = SqliteStore::connect(url).await?;
            let report = match store.migrate().await {
                Ok(()) => store.seed(plan).await,
                Err(err) => Err(err),
            };
            store.close().await;
            report
        }
        Some(Backend::Postgres) => {
            let store = PostgresStore::connect(url).await?;
            let report = match store.migrate().await {
                Ok(()) => store.seed(plan).await,
                Err(err) => Err(err),
            };
            store.close().await;
            report
        }
        None => Err(StoreError::Unavailable(
            "unsupported database URL: expected sqlite:…, postgres://… or postgresql://…".into(),
        )),
    }
}

/// Session ids: 32 hex digits like the server's (UUID v4, simple form), spread over the key space
/// like random ones. The high half is a bijection of the user id and the low half of the
/// session's number mixed with a per-call random salt, so ids are unique within a seeding and
/// collide with nothing in practice.
struct SessionIds {
    salt: u64,
}

impl SessionIds {
    fn new() -> Self {
        Self {
            salt: std::collections::hash_map::RandomState::new().hash_one(0_u64),
        }
    }

    fn id(&self, user_id: UserId, k: u32) -> String {
        #[allow(clippy::cast_sign_loss)] // ids are positive; any bijection will do
        let high = mix64(user_id as u64);
        let low = mix64(self.salt ^ mix64(u64::from(k).wrapping_add(high)));
        format!("{high:016x}{low:016x}")
    }
}

/// SplitMix64's finaliser: a bijection on `u64` that scatters neighbouring inputs.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seeding, written once and instantiated for both backends (the SQL is the same; only the
/// way user ids are reserved differs, see `reserve_ids`).
macro_rules! impl_seed {
    ($store:ty, $reserve_ids:ident, $insert_batch:ident) => {
        impl $store {
            /// Writes the rows of `plan`.
            async fn seed_rows(&self, plan: &SeedPlan<'_>) -> Result<SeedReport, StoreError> {
                let ids = SessionIds::new();
                let mut report = SeedReport {
                    users: 0,
                    sessions: 0,
                    user_ids: None,
                };
                let end = plan.first.saturating_add(plan.users);
                let mut next = plan.first;
                while next < end {
                    let upto = end.min(next.saturating_add(USERS_PER_TRANSACTION));
                    let mut tx = self.begin_write().await.map_err(unavailable)?;
                    let mut n = next;
                    while n < upto {
                        let m = upto.min(n + ROWS_PER_STATEMENT as u64);
                        let people: Vec<SeedPerson> = (n..m).map(plan.person).collect();
                        let user_ids = $reserve_ids(&mut *tx, people.len()).await?;
                        $insert_batch(&mut *tx, plan, &ids, &people, &user_ids).await?;
                        report.users += people.len() as u64;
                        report.sessions += people.len() as u64 * u64::from(plan.sessions_per_user);
                        if let (Some(&lo), Some(&hi)) = (user_ids.first(), user_ids.last()) {
                            report.user_ids = Some(match report.user_ids {
                                Some((first, _)) => (first, hi),
                                None => (lo, hi),
                            });
                        }
                        n = m;
                    }
                    tx.commit().await.map_err(unavailable)?;
                    next = upto;
                }
                Ok(report)
            }
        }
    };
}

impl_seed!(SqliteStore, reserve_ids_sqlite, insert_batch_sqlite);
impl_seed!(PostgresStore, reserve_ids_postgres, insert_batch_postgres);

/// The SQLite page cache of the writing connection while seeding (KiB), instead of the default
/// 2 MB: the unique indexes take inserts all over, and with the default cache one million users
/// take about twice as long. Set back afterwards.
const SEED_CACHE_KIB: i64 = 256 * 1024;

impl SqliteStore {
    /// Seeds the (migrated) database as `plan` says; see the module documentation.
    pub async fn seed(&self, plan: &SeedPlan<'_>) -> Result<SeedReport, StoreError> {
        let writer = self.writer();
        let before: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(writer)
            .await
            .map_err(unavailable)?;
        sqlx::query(&format!("PRAGMA cache_size = -{SEED_CACHE_KIB}"))
            .execute(writer)
            .await
            .map_err(unavailable)?;
        let report = self.seed_rows(plan).await;
        sqlx::query(&format!("PRAGMA cache_size = {before}"))
            .execute(writer)
            .await
            .map_err(unavailable)?;
        report
    }
}

impl PostgresStore {
    /// Seeds the (migrated) database as `plan` says; see the module documentation.
    pub async fn seed(&self, plan: &SeedPlan<'_>) -> Result<SeedReport, StoreError> {
        self.seed_rows(plan).await
    }
}

/// SQLite: the next `count` ids after every id handed out so far. `AUTOINCREMENT` remembers the
/// largest id ever used in `sqlite_sequence` (deleted users included) and moves it past the
/// explicit ids inserted here. The transaction is the only writer (`BEGIN IMMEDIATE`).
async fn reserve_ids_sqlite(
    conn: &mut sqlx::SqliteConnection,
    count: usize,
) -> Result<Vec<UserId>, StoreError> {
    let last: i64 = sqlx::query_scalar(
        "SELECT max(COALESCE((SELECT max(id) FROM users), 0), \
         COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'users'), 0))",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(unavailable)?;
    let count = i64::try_from(count).map_err(unavailable)?;
    Ok((last + 1..=last + count).collect())
}

/// Postgres: `count` values of the users' id sequence, so concurrent sign-ins never collide.
async fn reserve_ids_postgres(
    conn: &mut sqlx::PgConnection,
    count: usize,
) -> Result<Vec<UserId>, StoreError> {
    let count = i64::try_from(count).map_err(unavailable)?;
    sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('users', 'id')) FROM generate_series(1, $1)",
    )
    .bind(count)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable)
}

/// Inserts the users, their identities and their sessions, one multi-row statement per table
/// (the sessions in statements of at most [`ROWS_PER_STATEMENT`] rows).
macro_rules! impl_insert_batch {
    ($name:ident, $db:ty) => {
        async fn $name(
            conn: &mut <$db as sqlx::Database>::Connection,
            plan: &SeedPlan<'_>,
            ids: &SessionIds,
            people: &[SeedPerson],
            user_ids: &[UserId],
        ) -> Result<(), StoreError> {
            let now = plan.now;
            let rows = people.iter().zip(user_ids.iter().copied());

            let mut users = QueryBuilder::<$db>::new(
                "INSERT INTO users (id, username, email, first_name, last_name, email_verified, \
                 created_at, last_login_at) ",
            );
            users.push_values(rows.clone(), |mut b, (p, id)| {
                b.push_bind(id)
                    .push_bind(p.username.clone())
                    .push_bind(p.email.clone())
                    .push_bind(p.first_name.clone())
                    .push_bind(p.last_name.clone())
                    .push_bind(true)
                    .push_bind(now)
                    .push_bind(now);
            });
            users
                .build()
                .execute(&mut *conn)
                .await
                .map_err(unavailable)?;

            let mut identities = QueryBuilder::<$db>::new(
                "INSERT INTO identities (provider, subject, user_id, created_at) ",
            );
            identities.push_values(rows, |mut b, (p, id)| {
                b.push_bind(plan.provider.to_owned())
                    .push_bind(p.subject.clone())
                    .push_bind(id)
                    .push_bind(now);
            });
            identities
                .build()
                .execute(&mut *conn)
                .await
                .map_err(unavailable)?;

            let expires_at = now.saturating_add(plan.session_lifetime);
            let sessions: Vec<(String, UserId)> = user_ids
                .iter()
                .flat_map(|&id| (0..plan.sessions_per_user).map(move |k| (ids.id(id, k), id)))
                .collect();
            for chunk in sessions.chunks(ROWS_PER_STATEMENT) {
                let mut insert = QueryBuilder::<$db>::new(
                    "INSERT INTO sessions (id, user_id, generation, rotated_at, created_at, \
                     last_used_at, expires_at) ",
                );
                insert.push_values(chunk, |mut b, (sid, id)| {
                    b.push_bind(sid.clone())
                        .push_bind(*id)
                        .push_bind(1_i64)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(expires_at);
                });
                insert
                    .build()
                    .execute(&mut *conn)
                    .await
                    .map_err(unavailable)?;
            }
            Ok(())
        }
    };
}

impl_insert_batch!(insert_batch_sqlite, sqlx::Sqlite);
impl_insert_batch!(insert_batch_postgres, sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_look_like_the_servers_and_do_not_repeat() {
        let ids = SessionIds::new();
        let mut seen = std::collections::HashSet::new();
        for user in 1..2_000 {
            for k in 0..3 {
                let id = ids.id(user, k);
                assert_eq!(id.len(), 32);
                assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
                assert!(seen.insert(id));
            }
        }
    }
}
