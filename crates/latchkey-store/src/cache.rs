//! [`CachedStore`]: a [`Store`] decorator that remembers, for a short while, that an access
//! token's user is active and its session live — the one store read on every authenticated
//! request — so a page's burst of API calls costs one query, not one each.
//!
//! Correctness rules:
//! - Only positive answers (active user, live session) are remembered; anything else asks the
//!   database every time.
//! - An entry answers only within `ttl` seconds of being read, and with `ttl = 1` only within
//!   the same clock second, so a session that expires is never reported live.
//! - Every write through this store that could end a session or change a user (revocation,
//!   reuse detection, user changes, deactivation, deletion) empties the cache before it returns;
//!   an epoch counter keeps a read that raced with such a write from putting its stale answer
//!   back. Writes by *other* processes or nodes are seen after at most `ttl` — which is why the
//!   server turns the cache on by default only for SQLite, where this process is the writer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use latchkey_core::{
    RefreshOutcome, RevokeScope, Session, SignIn, SignInOutcome, Store, StoreError, UnixTime, User,
    UserId, UserPatch,
};

/// Entries kept at most; past that, stale ones are dropped, then all.
const CAPACITY: usize = 10_000;

/// See the module documentation.
#[derive(Debug)]
pub struct CachedStore {
    inner: Arc<dyn Store>,
    ttl: i64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    epoch: u64,
    /// By session id.
    live: HashMap<Box<str>, Entry>,
}

#[derive(Debug)]
struct Entry {
    user: User,
    read_at: UnixTime,
}

impl CachedStore {
    /// Wraps `inner`; entries answer for `ttl` seconds (at least 1).
    pub fn new(inner: Arc<dyn Store>, ttl: i64) -> Self {
        Self {
            inner,
            ttl: ttl.max(1),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets everything; called after every write that could make an entry wrong.
    fn invalidate(&self) {
        let mut state = self.state();
        state.epoch = state.epoch.wrapping_add(1);
        state.live.clear();
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn close(&self) {
        self.inner.close().await;
    }

    async fn sign_in(&self, sign_in: SignIn) -> Result<SignInOutcome, StoreError> {
        // Creates users and sessions; never ends one or changes a cached user's fields.
        self.inner.sign_in(sign_in).await
    }

    async fn refresh(
        &self,
        session_id: &str,
        generation: i64,
        now: UnixTime,
        grace: i64,
        lifetime: i64,
    ) -> Result<RefreshOutcome, StoreError> {
        let outcome = self
            .inner
            .refresh(session_id, generation, now, grace, lifetime)
            .await;
        // Reuse revoked the session, and after an error we cannot know it did not. The other
        // outcomes change nothing (rotation only extends a session), so a client replaying a
        // dead token cannot keep emptying the cache.
        if matches!(outcome, Ok(RefreshOutcome::Reused) | Err(_)) {
            self.invalidate();
        }
        outcome
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.inner.user(id).await
    }

    async fn user_and_session(
        &self,
        id: UserId,
        session_id: &str,
        now: UnixTime,
    ) -> Result<Option<(User, bool)>, StoreError> {
        let epoch = {
            let state = self.state();
            if let Some(entry) = state.live.get(session_id) {
                if entry.user.pk == id && now >= entry.read_at && now < entry.read_at + self.ttl {
                    return Ok(Some((entry.user.clone(), true)));
                }
            }
            state.epoch
        };
        let answer = self.inner.user_and_session(id, session_id, now).await?;
        if let Some((user, true)) = &answer {
            if user.is_active {
                let mut state = self.state();
                if state.epoch == epoch {
                    if state.live.len() >= CAPACITY {
                        let ttl = self.ttl;
                        state.live.retain(|_, e| now < e.read_at + ttl);
                        if state.live.len() >= CAPACITY {
                            state.live.clear();
                        }
                    }
                    state.live.insert(
                        session_id.into(),
                        Entry {
                            user: user.clone(),
                            read_at: now,
                        },
                    );
                }
            }
        }
        Ok(answer)
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User, StoreError> {
        let result = self.inner.update_user(id, patch).await;
        self.invalidate();
        result
    }

    async fn set_user_active(&self, id: UserId, active: bool) -> Result<(), StoreError> {
        let result = self.inner.set_user_active(id, active).await;
        self.invalidate();
        result
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        let result = self.inner.delete_user(id).await;
        self.invalidate();
        result
    }

    async fn session(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.session(session_id).await
    }

    async fn live_sessions(
        &self,
        user_id: UserId,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        self.inner.live_sessions(user_id, now).await
    }

    async fn revoke_sessions(
        &self,
        user_id: UserId,
        session_id: &str,
        scope: RevokeScope,
        reason: &str,
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        let result = self
            .inner
            .revoke_sessions(user_id, session_id, scope, reason, now)
            .await;
        self.invalidate();
        result
    }
}
