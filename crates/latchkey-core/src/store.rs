//! The storage interface. One implementation per backend lives in `latchkey-store`; the server
//! picks one at start-up and everything else sees `Arc<dyn Store>`.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::session::{NewSession, RevokeScope, Session};
use crate::user::{Profile, User, UserId};

/// Storage failures. Business outcomes (email taken, token reused) are not errors; they are the
/// `Ok` variants of each method's outcome type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the string names it (`username_taken`).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database failed or could not be reached. The message is for logs, never for clients.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// A sign-in with a provider-verified profile.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub provider: String,
    pub profile: Profile,
    /// Whether this provider may link its identity to an existing user with the same e-mail
    /// (only ever done when the provider also says the e-mail is verified).
    pub link_verified_email: bool,
    pub session: NewSession,
}

/// The result of [`Store::sign_in`].
// Made once per request and matched at once: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    /// Signed in; the session was created.
    SignedIn {
        user: User,
        session: Session,
        created_user: bool,
    },
    /// The user exists but is deactivated. Nothing was written.
    Inactive,
    /// Another user has this e-mail and the provider did not assert it verified (or may not
    /// link). Nothing was written.
    EmailTaken,
}

/// The result of [`Store::refresh`].
// Made once per request and matched at once: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum RefreshOutcome {
    /// Rotated: `session.generation` is the new current generation.
    Rotated { user: User, session: Session },
    /// A retry of the previous generation within the grace window: `session` is unchanged.
    Grace { user: User, session: Session },
    /// The presented generation was stale: the session is now revoked.
    Reused,
    /// The session was already revoked.
    Revoked,
    /// The session has expired.
    Expired,
    /// No such session (or its user was deleted).
    NotFound,
    /// The user is deactivated. Nothing changed.
    Inactive,
}

/// Changes to a user's editable fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Checks the database answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the connections, waiting for them to finish (SQLite then checkpoints its WAL, so
    /// the next start does not have to replay it). Called once, at shutdown.
    async fn close(&self) {}

    /// Finds or creates the user of `(provider, subject)`, linking by verified e-mail where
    /// allowed, and creates a session, all in one transaction.
    async fn sign_in(&self, sign_in: SignIn) -> Result<SignInOutcome, StoreError>;

    /// Applies the rotation rule ([`crate::decide_refresh`]) to the session atomically: a
    /// rotation happens at most once per generation however many nodes race. `grace` and
    /// `lifetime` are in seconds; on rotation the session's expiry becomes `now + lifetime`.
    async fn refresh(
        &self,
        session_id: &str,
        generation: i64,
        now: UnixTime,
        grace: i64,
        lifetime: i64,
    ) -> Result<RefreshOutcome, StoreError>;

    /// A user by id.
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// A user by id together with whether the session `session_id` of that user is live at
    /// `now`, in one round trip (the access-token check of every authenticated request).
    async fn user_and_session(
        &self,
        id: UserId,
        session_id: &str,
        now: UnixTime,
    ) -> Result<Option<(User, bool)>, StoreError>;

    /// Changes editable fields. `Conflict("username_taken")` if the username is in use
    /// (case-insensitively); `NotFound` if the user is gone.
    async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User, StoreError>;

    /// Activates or deactivates a user. `NotFound` if there is no such user.
    async fn set_user_active(&self, id: UserId, active: bool) -> Result<(), StoreError>;

    /// Deletes a user with their identities and sessions. `NotFound` if there is no such user.
    async fn delete_user(&self, id: UserId) -> Result<(), StoreError>;

    /// A session by id.
    async fn session(&self, session_id: &str) -> Result<Option<Session>, StoreError>;

    /// The user's sessions that are live at `now`, newest first.
    async fn live_sessions(
        &self,
        user_id: UserId,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError>;

    /// Revokes sessions of `user_id` relative to `session_id` (see [`RevokeScope`]); returns how
    /// many were revoked now (already revoked ones are not counted).
    async fn revoke_sessions(
        &self,
        user_id: UserId,
        session_id: &str,
        scope: RevokeScope,
        reason: &str,
        now: UnixTime,
    ) -> Result<u64, StoreError>;
}
