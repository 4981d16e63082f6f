//! The store's logic, written once for both backends: sign-in, refresh rotation and the rest of
//! [`latchkey_core::Store`], on top of [`Queries`] and a backend's [`Pools`].

use std::collections::HashSet;
use std::future::Future;

use latchkey_core::{
    decide_refresh, NewUser, Profile, RefreshDecision, RefreshOutcome, RevokeScope, Session,
    SignIn, SignInOutcome, StoreError, UnixTime, User, UserId, UserPatch,
};
use sqlx::{Pool, Transaction};

use crate::error::{is_unique_violation, unavailable, EMAIL_KEY, IDENTITY_KEY, USERNAME_KEY};
use crate::queries::{Queries, USERNAME_BATCH};
use crate::rotation::{Rotation, RotationQueue};

/// How often a sign-in that lost a race on a unique rule (two first sign-ins of the same person,
/// or of two people with the same username base) is tried again from the start.
const SIGN_IN_ATTEMPTS: usize = 5;

/// How often a refresh looks at the session again after another refresh changed it between our
/// read and our write. Each retry means somebody else made progress, so this is never reached
/// in practice.
const REFRESH_ATTEMPTS: usize = 8;

/// How often a new user's insert is retried with the next free username after another
/// sign-in took the one we picked. Bounds a loop that ends anyway (see `insert_user`).
const USERNAME_ATTEMPTS: usize = 32;

/// Longest username (as in Django and `latchkey_core::validate_username`).
const USERNAME_MAX: usize = 150;

/// A backend's connection pools, as the flows need them.
pub(crate) trait Pools: Send + Sync {
    type Db: sqlx::Database<Connection: Queries>;

    /// For statements that only read.
    fn reader(&self) -> &Pool<Self::Db>;

    /// For single statements that write.
    fn writer(&self) -> &Pool<Self::Db>;

    /// Where the common refresh's rotation is applied, batched with others (on the writer pool).
    fn rotations(&self) -> &RotationQueue;

    /// A transaction that is going to write (SQLite: `BEGIN IMMEDIATE`, so that it never has to
    /// upgrade a read lock and cannot deadlock with another writer).
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

pub(crate) async fn ping<B: Pools>(db: &B) -> Result<(), StoreError> {
    let mut conn = db.reader().acquire().await.map_err(unavailable)?;
    conn.ping().await.map_err(unavailable)
}

pub(crate) async fn sign_in<B: Pools>(
    db: &B,
    sign_in: SignIn,
) -> Result<SignInOutcome, StoreError> {
    let mut attempt = 1;
    loop {
        match sign_in_once(db, &sign_in).await {
            Ok(outcome) => return Ok(outcome),
            Err(err)
                if attempt < SIGN_IN_ATTEMPTS
                    && is_unique_violation(&err, &[USERNAME_KEY, EMAIL_KEY, IDENTITY_KEY]) =>
            {
                tracing::debug!(attempt, error = %err, "sign-in lost a race; trying again");
                attempt += 1;
            }
            Err(err) => return Err(unavailable(err)),
        }
    }
}

async fn sign_in_once<B: Pools>(db: &B, sign_in: &SignIn) -> Result<SignInOutcome, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let outcome = sign_in_in(&mut *tx, sign_in).await?;
    if matches!(outcome, SignInOutcome::SignedIn { .. }) {
        tx.commit().await?;
    } else {
        // Nothing was written; end the transaction now rather than when the pool notices.
        tx.rollback().await?;
    }
    Ok(outcome)
}

/// The sign-in, inside a transaction.
async fn sign_in_in<C: Queries>(
    conn: &mut C,
    sign_in: &SignIn,
) -> Result<SignInOutcome, sqlx::Error> {
    let SignIn {
        provider,
        profile,
        link_verified_email,
        session,
    } = sign_in;
    let now = session.created_at;
    let (user, created_user) = match conn.identity_user(provider, &profile.subject).await? {
        Some(user) if !user.is_active => return Ok(SignInOutcome::Inactive),
        Some(user) => (user, false),
        None => match email_owner(conn, profile).await? {
            Some((owner, owner_verified)) => {
                // Linking hands this identity an existing account: only on the provider's word
                // that the e-mail is verified, only for providers trusted to link, and only if
                // the account's own address was verified when it was created (else whoever
                // created it with someone else's address would share that person's account).
                if !(profile.email_verified && *link_verified_email && owner_verified) {
                    return Ok(SignInOutcome::EmailTaken);
                }
                if !owner.is_active {
                    return Ok(SignInOutcome::Inactive);
                }
                conn.insert_identity(provider, &profile.subject, owner.pk, now)
                    .await?;
                (owner, false)
            }
            None => (create_user(conn, provider, profile, now).await?, true),
        },
    };
    let session = conn.insert_session(user.pk, session).await?;
    conn.record_login(user.pk, now).await?;
    Ok(SignInOutcome::SignedIn {
        user,
        session,
        created_user,
    })
}

/// The user who already has the profile's e-mail, if it has one.
async fn email_owner<C: Queries>(
    conn: &mut C,
    profile: &Profile,
) -> Result<Option<(User, bool)>, sqlx::Error> {
    match profile.email.as_deref() {
        Some(email) if !email.is_empty() => conn.user_by_email(email).await,
        _ => Ok(None),
    }
}

async fn create_user<C: Queries>(
    conn: &mut C,
    provider: &str,
    profile: &Profile,
    now: UnixTime,
) -> Result<User, sqlx::Error> {
    let new = NewUser::from_profile(profile);
    let (pk, username) = insert_user(conn, &new, now).await?;
    conn.insert_identity(provider, &profile.subject, pk, now)
        .await?;
    Ok(User {
        pk,
        username,
        email: new.email,
        first_name: new.first_name,
        last_name: new.last_name,
        picture: new.picture,
        is_active: true,
    })
}

/// Inserts the user under the first free username. Another sign-in may take that name between
/// our look and our insert (Postgres; SQLite writers are serialised): then only the insert is
/// undone, back to a savepoint, and we look again, now seeing the name the other one committed.
/// Each retry thus means another user was created, so this ends.
async fn insert_user<C: Queries>(
    conn: &mut C,
    new: &NewUser,
    now: UnixTime,
) -> Result<(UserId, String), sqlx::Error> {
    let mut attempt = 1;
    loop {
        let username = free_username(conn, &new.username_base).await?;
        conn.savepoint().await?;
        match conn.insert_user(new, &username, now).await {
            Ok(pk) => {
                conn.release_savepoint().await?;
                return Ok((pk, username));
            }
            Err(err)
                if attempt < USERNAME_ATTEMPTS && is_unique_violation(&err, &[USERNAME_KEY]) =>
            {
                tracing::debug!(
                    attempt,
                    username,
                    "username taken meanwhile; trying the next"
                );
                conn.rollback_to_savepoint().await?;
                attempt += 1;
            }
            // Anything else (an e-mail race on Postgres included) fails the attempt; `sign_in`
            // decides whether to start over.
            Err(err) => return Err(err),
        }
    }
}

/// The first of `base`, `base2`, `base3`, … that no user has (case-insensitively), checked
/// [`USERNAME_BATCH`] candidates per query.
async fn free_username<C: Queries>(conn: &mut C, base: &str) -> Result<String, sqlx::Error> {
    // Bases come from `latchkey_core::username_base`: lowercase ASCII, never empty.
    let base = match base.to_ascii_lowercase() {
        base if base.is_empty() => "user".to_owned(),
        base => base,
    };
    let mut first = 1;
    loop {
        let candidates: Vec<String> = (first..first + USERNAME_BATCH)
            .map(|n| username_candidate(&base, n))
            .collect();
        let taken: HashSet<String> = conn
            .taken_usernames(&candidates)
            .await?
            .into_iter()
            .collect();
        if let Some(free) = candidates.into_iter().find(|c| !taken.contains(c)) {
            return Ok(free);
        }
        first += USERNAME_BATCH;
    }
}

/// `base` for `n == 1`, else `base` followed by `n`, cut so the whole fits in 150 characters.
fn username_candidate(base: &str, n: usize) -> String {
    let suffix = if n == 1 { String::new() } else { n.to_string() };
    let keep = USERNAME_MAX.saturating_sub(suffix.len());
    base.chars().take(keep).chain(suffix.chars()).collect()
}

pub(crate) async fn refresh<B: Pools>(
    db: &B,
    session_id: &str,
    generation: i64,
    now: UnixTime,
    grace: i64,
    lifetime: i64,
) -> Result<RefreshOutcome, StoreError> {
    let expires_at = now.saturating_add(lifetime);
    // The common case: one compare-and-set, applied together with the other refreshes waiting
    // at the moment (`rotation.rs`). Anything else is read and decided below.
    let rotation = Rotation {
        session_id: session_id.to_owned(),
        generation,
        now,
        expires_at,
    };
    if let Some((user, session)) = db.rotations().rotate(rotation).await? {
        return Ok(RefreshOutcome::Rotated { user, session });
    }
    // One connection from the writer pool for the reads and the write. On SQLite that is the
    // single writer: a refresh is its own writes' only reader, so the read sees the latest
    // state, and a refresh storm keeps no reader open that would starve WAL checkpoints (which
    // then grow the WAL and slow every lookup in it). On PostgreSQL it is any pool connection.
    let mut conn = db.writer().acquire().await.map_err(unavailable)?;
    for _ in 0..REFRESH_ATTEMPTS {
        // Read, decide, then write only if the session is still as we read it
        // (compare-and-set on `generation`); if not, another refresh won: read again.
        let found = conn
            .session_and_user(session_id)
            .await
            .map_err(unavailable)?;
        let Some((user, session)) = found else {
            return Ok(RefreshOutcome::NotFound);
        };
        if !user.is_active {
            return Ok(RefreshOutcome::Inactive);
        }
        match decide_refresh(&session, generation, now, grace) {
            RefreshDecision::Rotate => {
                // The same compare-and-set as the fast path above; `None` means another
                // refresh changed the session since we read it: read again.
                let rotated = conn
                    .rotate_current(session_id, session.generation, now, expires_at)
                    .await
                    .map_err(unavailable)?;
                if let Some((user, session)) = rotated {
                    return Ok(RefreshOutcome::Rotated { user, session });
                }
            }
            RefreshDecision::Grace => return Ok(RefreshOutcome::Grace { user, session }),
            RefreshDecision::Reuse => {
                let revoked = conn
                    .revoke_session_at(session_id, session.generation, "reuse", now)
                    .await
                    .map_err(unavailable)?;
                if revoked {
                    tracing::info!(
                        session_id,
                        generation,
                        "refresh token reuse; session revoked"
                    );
                    return Ok(RefreshOutcome::Reused);
                }
            }
            RefreshDecision::Revoked => return Ok(RefreshOutcome::Revoked),
            RefreshDecision::Expired => return Ok(RefreshOutcome::Expired),
        }
    }
    Err(StoreError::Unavailable(format!(
        "refresh of a session kept losing races after {REFRESH_ATTEMPTS} attempts"
    )))
}

pub(crate) async fn user<B: Pools>(db: &B, id: UserId) -> Result<Option<User>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(unavailable)?;
    conn.user(id).await.map_err(unavailable)
}

pub(crate) async fn user_and_session<B: Pools>(
    db: &B,
    id: UserId,
    session_id: &str,
    now: UnixTime,
) -> Result<Option<(User, bool)>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(unavailable)?;
    conn.user_and_session(id, session_id, now)
        .await
        .map_err(unavailable)
}

pub(crate) async fn update_user<B: Pools>(
    db: &B,
    id: UserId,
    patch: UserPatch,
) -> Result<User, StoreError> {
    let mut conn = db.writer().acquire().await.map_err(unavailable)?;
    match conn.update_user(id, &patch).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(StoreError::NotFound),
        // The statement changes no e-mail, so the username is the only unique rule it can break.
        Err(err) if is_unique_violation(&err, &[USERNAME_KEY]) => {
            Err(StoreError::Conflict("username_taken"))
        }
        Err(err) => Err(unavailable(err)),
    }
}

pub(crate) async fn set_user_active<B: Pools>(
    db: &B,
    id: UserId,
    active: bool,
) -> Result<(), StoreError> {
    let mut conn = db.writer().acquire().await.map_err(unavailable)?;
    match conn
        .set_user_active(id, active)
        .await
        .map_err(unavailable)?
    {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn delete_user<B: Pools>(db: &B, id: UserId) -> Result<(), StoreError> {
    let mut conn = db.writer().acquire().await.map_err(unavailable)?;
    match conn.delete_user(id).await.map_err(unavailable)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn session<B: Pools>(
    db: &B,
    session_id: &str,
) -> Result<Option<Session>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(unavailable)?;
    conn.session(session_id).await.map_err(unavailable)
}

pub(crate) async fn live_sessions<B: Pools>(
    db: &B,
    user_id: UserId,
    now: UnixTime,
) -> Result<Vec<Session>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(unavailable)?;
    conn.live_sessions(user_id, now).await.map_err(unavailable)
}

pub(crate) async fn revoke_sessions<B: Pools>(
    db: &B,
    user_id: UserId,
    session_id: &str,
    scope: RevokeScope,
    reason: &str,
    now: UnixTime,
) -> Result<u64, StoreError> {
    let mut conn = db.writer().acquire().await.map_err(unavailable)?;
    conn.revoke_sessions(user_id, session_id, scope, reason, now)
        .await
        .map_err(unavailable)
}

/// Implements [`latchkey_core::Store`] for a [`Pools`] by calling the flows above.
macro_rules! impl_store {
    ($store:ty) => {
        // In an anonymous constant so that the imports stay local to the expansion.
        const _: () = {
            use latchkey_core::{
                RefreshOutcome, RevokeScope, Session, SignIn, SignInOutcome, Store, StoreError,
                UnixTime, User, UserId, UserPatch,
            };

            #[async_trait::async_trait]
            impl Store for $store {
                async fn close(&self) {
                    <$store>::close(self).await;
                }

                async fn ping(&self) -> Result<(), StoreError> {
                    crate::flows::ping(self).await
                }

                async fn sign_in(&self, sign_in: SignIn) -> Result<SignInOutcome, StoreError> {
                    crate::flows::sign_in(self, sign_in).await
                }

                async fn refresh(
                    &self,
                    session_id: &str,
                    generation: i64,
                    now: UnixTime,
                    grace: i64,
                    lifetime: i64,
                ) -> Result<RefreshOutcome, StoreError> {
                    crate::flows::refresh(self, session_id, generation, now, grace, lifetime).await
                }

                async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
                    crate::flows::user(self, id).await
                }

                async fn user_and_session(
                    &self,
                    id: UserId,
                    session_id: &str,
                    now: UnixTime,
                ) -> Result<Option<(User, bool)>, StoreError> {
                    crate::flows::user_and_session(self, id, session_id, now).await
                }

                async fn update_user(
                    &self,
                    id: UserId,
                    patch: UserPatch,
                ) -> Result<User, StoreError> {
                    crate::flows::update_user(self, id, patch).await
                }

                async fn set_user_active(
                    &self,
                    id: UserId,
                    active: bool,
                ) -> Result<(), StoreError> {
                    crate::flows::set_user_active(self, id, active).await
                }

                async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
                    crate::flows::delete_user(self, id).await
                }

                async fn session(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
                    crate::flows::session(self, session_id).await
                }

                async fn live_sessions(
                    &self,
                    user_id: UserId,
                    now: UnixTime,
                ) -> Result<Vec<Session>, StoreError> {
                    crate::flows::live_sessions(self, user_id, now).await
                }

                async fn revoke_sessions(
                    &self,
                    user_id: UserId,
                    session_id: &str,
                    scope: RevokeScope,
                    reason: &str,
                    now: UnixTime,
                ) -> Result<u64, StoreError> {
                    crate::flows::revoke_sessions(self, user_id, session_id, scope, reason, now)
                        .await
                }
            }
        };
    };
}

pub(crate) use impl_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_candidates_count_up_from_the_second() {
        assert_eq!(username_candidate("ann", 1), "ann");
        assert_eq!(username_candidate("ann", 2), "ann2");
        assert_eq!(username_candidate("ann", 17), "ann17");
    }

    #[test]
    fn username_candidates_stay_within_150_characters() {
        let base = "a".repeat(150);
        assert_eq!(username_candidate(&base, 1).len(), 150);
        let tenth = username_candidate(&base, 10);
        assert_eq!(tenth.len(), 150);
        assert!(tenth.ends_with("a10"));
    }
}
