//! Every SQL statement the store runs, one method each, behind the [`Queries`] trait.
//!
//! The SQL is the same for both backends: `$n` placeholders (SQLite accepts them too), `lower()`
//! expressions matching the unique indexes, `RETURNING` without table qualifiers. What differs
//! is only the connection type, so `impl_queries!` writes the implementation once and
//! instantiates it for `SqliteConnection` and `PgConnection`. The store logic (`flows.rs`) is
//! written once against this trait.

use std::future::Future;
use std::sync::OnceLock;

use latchkey_core::{NewSession, NewUser, RevokeScope, Session, UnixTime, User, UserId, UserPatch};

use crate::rotation::Rotation;

/// How many username candidates (`ann`, `ann2`, …) one query checks. Must match
/// [`TAKEN_USERNAMES`].
pub(crate) const USERNAME_BATCH: usize = 16;

/// Which of 16 candidate usernames are taken (case-insensitively). An `IN` list of equalities on
/// `lower(username)` so that it is answered from the unique index.
const TAKEN_USERNAMES: &str = "SELECT lower(username) FROM users WHERE lower(username) IN \
     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// Most rotations [`Queries::rotate_batch`] applies in one statement. Each batch size is its own
/// prepared statement; with the store's twenty-odd others that stays under the 100 statements
/// sqlx keeps prepared per connection, so none is evicted and prepared again.
pub(crate) const ROTATION_BATCH: usize = 64;

/// What [`Queries::rotate_batch`] returns for each session: the rotated session's columns, then
/// its user's. Scalar subqueries, because SQLite allows no join in `RETURNING`; each is a
/// primary-key lookup of the one user row.
macro_rules! rotated_columns {
    () => {
        concat!(
            session_columns!(),
            ", user_id AS u_id, \
             (SELECT username FROM users WHERE users.id = sessions.user_id) AS u_username, \
             (SELECT email FROM users WHERE users.id = sessions.user_id) AS u_email, \
             (SELECT first_name FROM users WHERE users.id = sessions.user_id) AS u_first_name, \
             (SELECT last_name FROM users WHERE users.id = sessions.user_id) AS u_last_name, \
             (SELECT picture FROM users WHERE users.id = sessions.user_id) AS u_picture, \
             (SELECT is_active FROM users WHERE users.id = sessions.user_id) AS u_is_active"
        )
    };
}

/// The statement of [`Queries::rotate_batch`] for `n` sessions (1 ≤ `n` ≤ [`ROTATION_BATCH`]):
/// the same compare-and-set as [`Queries::rotate_current`], joined with a list of
/// `(session, generation, now, new expiry)`, four parameters per session. Built once per size;
/// each size is prepared once per connection.
fn rotate_batch_sql(n: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let sizes = SQL.get_or_init(|| {
        (1..=ROTATION_BATCH)
            .map(|n| {
                let rows: Vec<String> = (0..n)
                    .map(|i| {
                        let p = 4 * i;
                        format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4)
                    })
                    .collect();
                format!(
                    "WITH r(r_id, r_generation, r_now, r_expires_at) AS (VALUES {}) \
                     UPDATE sessions SET generation = generation + 1, rotated_at = r.r_now, \
                     last_used_at = r.r_now, expires_at = r.r_expires_at FROM r \
                     WHERE sessions.id = r.r_id AND sessions.generation = r.r_generation \
                     AND sessions.revoked_at IS NULL AND sessions.expires_at > r.r_now \
                     AND EXISTS (SELECT 1 FROM users \
                       WHERE users.id = sessions.user_id AND users.is_active) \
                     RETURNING {}",
                    rows.join(", "),
                    rotated_columns!()
                )
            })
            .collect()
    });
    &sizes[n - 1]
}

type Res<T> = Result<T, sqlx::Error>;

/// The statements of the store, on one connection (a pooled connection or a transaction).
pub(crate) trait Queries: Send {
    fn ping(&mut self) -> impl Future<Output = Res<()>> + Send;

    /// The user an identity belongs to.
    fn identity_user(
        &mut self,
        provider: &str,
        subject: &str,
    ) -> impl Future<Output = Res<Option<User>>> + Send;

    /// The user with this e-mail, compared case-insensitively. `email` must not be empty.
    /// With whether that user's e-mail was verified by the provider that created the user.
    fn user_by_email(
        &mut self,
        email: &str,
    ) -> impl Future<Output = Res<Option<(User, bool)>>> + Send;

    /// Which of `candidates` (exactly [`USERNAME_BATCH`], lowercase) are taken.
    fn taken_usernames(
        &mut self,
        candidates: &[String],
    ) -> impl Future<Output = Res<Vec<String>>> + Send;

    /// Marks a point inside the transaction to come back to ([`Queries::rollback_to_savepoint`]).
    fn savepoint(&mut self) -> impl Future<Output = Res<()>> + Send;

    /// Undoes everything since [`Queries::savepoint`]; the transaction goes on (on Postgres, even
    /// after a failed statement).
    fn rollback_to_savepoint(&mut self) -> impl Future<Output = Res<()>> + Send;

    /// Keeps everything since [`Queries::savepoint`] and forgets the savepoint.
    fn release_savepoint(&mut self) -> impl Future<Output = Res<()>> + Send;

    /// Inserts a user; returns the new id.
    fn insert_user(
        &mut self,
        user: &NewUser,
        username: &str,
        now: UnixTime,
    ) -> impl Future<Output = Res<UserId>> + Send;

    fn insert_identity(
        &mut self,
        provider: &str,
        subject: &str,
        user_id: UserId,
        now: UnixTime,
    ) -> impl Future<Output = Res<()>> + Send;

    /// Inserts a session at generation 1 and returns it.
    fn insert_session(
        &mut self,
        user_id: UserId,
        session: &NewSession,
    ) -> impl Future<Output = Res<Session>> + Send;

    fn record_login(
        &mut self,
        user_id: UserId,
        now: UnixTime,
    ) -> impl Future<Output = Res<()>> + Send;

    fn user(&mut self, id: UserId) -> impl Future<Output = Res<Option<User>>> + Send;

    /// The user and whether `session_id` is theirs and live at `now`, in one statement.
    fn user_and_session(
        &mut self,
        id: UserId,
        session_id: &str,
        now: UnixTime,
    ) -> impl Future<Output = Res<Option<(User, bool)>>> + Send;

    /// A session with its user, in one statement.
    fn session_and_user(
        &mut self,
        session_id: &str,
    ) -> impl Future<Output = Res<Option<(User, Session)>>> + Send;

    /// The common case of a refresh in one statement: moves the session from `generation` to the
    /// next one if `generation` is current, the session is neither revoked nor expired at `now`
    /// and its user is active — exactly when `decide_refresh` would say `Rotate` — and returns
    /// the user with the rotated session. `None` in every other case (the caller then reads and
    /// decides).
    fn rotate_current(
        &mut self,
        session_id: &str,
        generation: i64,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> impl Future<Output = Res<Option<(User, Session)>>> + Send;

    /// [`Queries::rotate_current`] for up to [`ROTATION_BATCH`] sessions in one statement (all
    /// different). Returns the rotated ones, in no particular order; a session not among them
    /// was not changed.
    fn rotate_batch(
        &mut self,
        batch: &[&Rotation],
    ) -> impl Future<Output = Res<Vec<(User, Session)>>> + Send;

    /// Revokes the session if it is still at `generation` and not revoked. `false` when someone
    /// else changed it first.
    fn revoke_session_at(
        &mut self,
        session_id: &str,
        generation: i64,
        reason: &str,
        now: UnixTime,
    ) -> impl Future<Output = Res<bool>> + Send;

    /// Applies the patch; `None` if there is no such user.
    fn update_user(
        &mut self,
        id: UserId,
        patch: &UserPatch,
    ) -> impl Future<Output = Res<Option<User>>> + Send;

    /// Returns the number of rows changed (0: no such user).
    fn set_user_active(
        &mut self,
        id: UserId,
        active: bool,
    ) -> impl Future<Output = Res<u64>> + Send;

    /// Returns the number of rows deleted (0: no such user).
    fn delete_user(&mut self, id: UserId) -> impl Future<Output = Res<u64>> + Send;

    fn session(&mut self, session_id: &str) -> impl Future<Output = Res<Option<Session>>> + Send;

    fn live_sessions(
        &mut self,
        user_id: UserId,
        now: UnixTime,
    ) -> impl Future<Output = Res<Vec<Session>>> + Send;

    /// Returns how many sessions were revoked by this call.
    fn revoke_sessions(
        &mut self,
        user_id: UserId,
        session_id: &str,
        scope: RevokeScope,
        reason: &str,
        now: UnixTime,
    ) -> impl Future<Output = Res<u64>> + Send;
}

/// Implements [`Queries`] for a concrete sqlx connection type.
macro_rules! impl_queries {
    ($conn:ty) => {
        impl Queries for $conn {
            async fn ping(&mut self) -> Res<()> {
                sqlx::query("SELECT 1").execute(self).await.map(drop)
            }

            async fn identity_user(&mut self, provider: &str, subject: &str) -> Res<Option<User>> {
                let row: Option<UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(u),
                    " FROM identities i JOIN users u ON u.id = i.user_id \
                     WHERE i.provider = $1 AND i.subject = $2"
                ))
                .bind(provider)
                .bind(subject)
                .fetch_optional(self)
                .await?;
                Ok(row.map(User::from))
            }

            async fn user_by_email(&mut self, email: &str) -> Res<Option<(User, bool)>> {
                // `email <> ''` lets the planner use the partial index.
                let row: Option<EmailOwnerRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    ", email_verified FROM users WHERE lower(email) = lower($1) AND email <> ''"
                ))
                .bind(email)
                .fetch_optional(self)
                .await?;
                Ok(row.map(|r| (User::from(r.user), r.email_verified)))
            }

            async fn taken_usernames(&mut self, candidates: &[String]) -> Res<Vec<String>> {
                debug_assert_eq!(candidates.len(), USERNAME_BATCH);
                let mut query = sqlx::query_scalar(TAKEN_USERNAMES);
                for candidate in candidates {
                    query = query.bind(candidate);
                }
                query.fetch_all(self).await
            }

            async fn savepoint(&mut self) -> Res<()> {
                sqlx::query("SAVEPOINT new_user").execute(self).await.map(drop)
            }

            async fn rollback_to_savepoint(&mut self) -> Res<()> {
                sqlx::query("ROLLBACK TO SAVEPOINT new_user")
                    .execute(self)
                    .await
                    .map(drop)
            }

            async fn release_savepoint(&mut self) -> Res<()> {
                sqlx::query("RELEASE SAVEPOINT new_user")
                    .execute(self)
                    .await
                    .map(drop)
            }

            async fn insert_user(
                &mut self,
                user: &NewUser,
                username: &str,
                now: UnixTime,
            ) -> Res<UserId> {
                sqlx::query_scalar(
                    "INSERT INTO users \
                     (username, email, email_verified, first_name, last_name, picture, \
                      is_active, created_at) \
                     VALUES ($1, $2, $7, $3, $4, $5, TRUE, $6) RETURNING id",
                )
                .bind(username)
                .bind(&user.email)
                .bind(&user.first_name)
                .bind(&user.last_name)
                .bind(&user.picture)
                .bind(now)
                .bind(user.email_verified)
                .fetch_one(self)
                .await
            }

            async fn insert_identity(
                &mut self,
                provider: &str,
                subject: &str,
                user_id: UserId,
                now: UnixTime,
            ) -> Res<()> {
                sqlx::query(
                    "INSERT INTO identities (provider, subject, user_id, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(provider)
                .bind(subject)
                .bind(user_id)
                .bind(now)
                .execute(self)
                .await
                .map(drop)
            }

            async fn insert_session(
                &mut self,
                user_id: UserId,
                session: &NewSession,
            ) -> Res<Session> {
                let row: SessionRow = sqlx::query_as(concat!(
                    "INSERT INTO sessions (id, user_id, generation, rotated_at, created_at, \
                     last_used_at, expires_at, user_agent, ip) \
                     VALUES ($1, $2, 1, $3, $3, $3, $4, $5, $6) RETURNING ",
                    session_columns!()
                ))
                .bind(&session.id)
                .bind(user_id)
                .bind(session.created_at)
                .bind(session.expires_at)
                .bind(&session.user_agent)
                .bind(&session.ip)
                .fetch_one(self)
                .await?;
                Ok(row.into())
            }

            async fn record_login(&mut self, user_id: UserId, now: UnixTime) -> Res<()> {
                sqlx::query("UPDATE users SET last_login_at = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(now)
                    .execute(self)
                    .await
                    .map(drop)
            }

            async fn user(&mut self, id: UserId) -> Res<Option<User>> {
                let row: Option<UserRow> =
                    sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(self)
                        .await?;
                Ok(row.map(User::from))
            }

            async fn user_and_session(
                &mut self,
                id: UserId,
                session_id: &str,
                now: UnixTime,
            ) -> Res<Option<(User, bool)>> {
                // The hot path: one primary-key lookup on each table, one round trip, a
                // statement sqlx prepares once per connection and caches.
                let row: Option<UserLiveRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(u),
                    ", s.id IS NOT NULL AS session_live FROM users u \
                     LEFT JOIN sessions s ON s.id = $2 AND s.user_id = u.id \
                     AND s.revoked_at IS NULL AND s.expires_at > $3 \
                     WHERE u.id = $1"
                ))
                .bind(id)
                .bind(session_id)
                .bind(now)
                .fetch_optional(self)
                .await?;
                Ok(row.map(|row| (row.user.into(), row.session_live)))
            }

            async fn session_and_user(&mut self, session_id: &str) -> Res<Option<(User, Session)>> {
                let row: Option<UserSessionRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(u),
                    ", ",
                    session_columns!(s),
                    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
                ))
                .bind(session_id)
                .fetch_optional(self)
                .await?;
                Ok(row.map(|row| (row.user.into(), row.session.into())))
            }

            async fn rotate_current(
                &mut self,
                session_id: &str,
                generation: i64,
                now: UnixTime,
                expires_at: UnixTime,
            ) -> Res<Option<(User, Session)>> {
                let row: Option<UserSessionRow> = sqlx::query_as(concat!(
                    "UPDATE sessions SET generation = generation + 1, rotated_at = $3, \
                     last_used_at = $3, expires_at = $4 \
                     WHERE id = $1 AND generation = $2 AND revoked_at IS NULL \
                     AND expires_at > $3 AND EXISTS (SELECT 1 FROM users \
                       WHERE users.id = sessions.user_id AND users.is_active) \
                     RETURNING ",
                    rotated_columns!()
                ))
                .bind(session_id)
                .bind(generation)
                .bind(now)
                .bind(expires_at)
                .fetch_optional(self)
                .await?;
                Ok(row.map(|row| (row.user.into(), row.session.into())))
            }

            async fn rotate_batch(&mut self, batch: &[&Rotation]) -> Res<Vec<(User, Session)>> {
                let mut query = sqlx::query_as::<_, UserSessionRow>(rotate_batch_sql(batch.len()));
                for rotation in batch {
                    query = query
                        .bind(rotation.session_id.as_str())
                        .bind(rotation.generation)
                        .bind(rotation.now)
                        .bind(rotation.expires_at);
                }
                let rows = query.fetch_all(self).await?;
                Ok(rows
                    .into_iter()
                    .map(|row| (row.user.into(), row.session.into()))
                    .collect())
            }

            async fn revoke_session_at(
                &mut self,
                session_id: &str,
                generation: i64,
                reason: &str,
                now: UnixTime,
            ) -> Res<bool> {
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
                     WHERE id = $1 AND generation = $2 AND revoked_at IS NULL",
                )
                .bind(session_id)
                .bind(generation)
                .bind(now)
                .bind(reason)
                .execute(self)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn update_user(&mut self, id: UserId, patch: &UserPatch) -> Res<Option<User>> {
                let row: Option<UserRow> = sqlx::query_as(concat!(
                    "UPDATE users SET username = COALESCE($2, username), \
                     first_name = COALESCE($3, first_name), last_name = COALESCE($4, last_name) \
                     WHERE id = $1 RETURNING ",
                    user_columns!()
                ))
                .bind(id)
                .bind(patch.username.as_deref())
                .bind(patch.first_name.as_deref())
                .bind(patch.last_name.as_deref())
                .fetch_optional(self)
                .await?;
                Ok(row.map(User::from))
            }

            async fn set_user_active(&mut self, id: UserId, active: bool) -> Res<u64> {
                let done = sqlx::query("UPDATE users SET is_active = $2 WHERE id = $1")
                    .bind(id)
                    .bind(active)
                    .execute(self)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn delete_user(&mut self, id: UserId) -> Res<u64> {
                // Identities and sessions go with it (ON DELETE CASCADE).
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(self)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn session(&mut self, session_id: &str) -> Res<Option<Session>> {
                let row: Option<SessionRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM sessions WHERE id = $1"
                ))
                .bind(session_id)
                .fetch_optional(self)
                .await?;
                Ok(row.map(Session::from))
            }

            async fn live_sessions(&mut self, user_id: UserId, now: UnixTime) -> Res<Vec<Session>> {
                let rows: Vec<SessionRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM sessions \
                     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                     ORDER BY created_at DESC, id DESC"
                ))
                .bind(user_id)
                .bind(now)
                .fetch_all(self)
                .await?;
                Ok(rows.into_iter().map(Session::from).collect())
            }

            async fn revoke_sessions(
                &mut self,
                user_id: UserId,
                session_id: &str,
                scope: RevokeScope,
                reason: &str,
                now: UnixTime,
            ) -> Res<u64> {
                // Always restricted to the user's own sessions: a session id alone never
                // revokes anything. `$4`, the session id, is bound only where it is used
                // (Postgres cannot infer the type of an unused parameter).
                let (sql, names_session) = match scope {
                    RevokeScope::Local => (
                        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                         WHERE user_id = $3 AND id = $4 AND revoked_at IS NULL",
                        true,
                    ),
                    RevokeScope::Others => (
                        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                         WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL",
                        true,
                    ),
                    RevokeScope::Global => (
                        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                         WHERE user_id = $3 AND revoked_at IS NULL",
                        false,
                    ),
                };
                let mut query = sqlx::query(sql).bind(now).bind(reason).bind(user_id);
                if names_session {
                    query = query.bind(session_id);
                }
                let done = query.execute(self).await?;
                Ok(done.rows_affected())
            }
        }
    };
}

use crate::rows::{
    session_columns, user_columns, EmailOwnerRow, SessionRow, UserLiveRow, UserRow, UserSessionRow,
};

impl_queries!(sqlx::SqliteConnection);
impl_queries!(sqlx::PgConnection);
