//! Sessions and the refresh-token rotation rule.
//!
//! A session is one signed-in device. Its refresh tokens carry the session id and a generation
//! number; the session row remembers the current generation and when it became current. A
//! refresh with the current generation rotates (generation + 1). A refresh with the previous
//! generation within the grace window is a parallel or retried refresh (Nuxt Auth sends one per
//! pending request) and gets the current generation's tokens again. Anything else is reuse of a
//! stolen or replayed token and revokes the session.

use crate::clock::UnixTime;
use crate::user::UserId;

/// A session row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Random, unguessable id (UUID v4, simple form).
    pub id: String,
    pub user_id: UserId,
    /// The generation of the refresh token that is current now. Starts at 1.
    pub generation: i64,
    /// When `generation` became current.
    pub rotated_at: UnixTime,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
    /// After this, no refresh token of the session works. Slides forward on each rotation.
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub revoked_reason: Option<String>,
    pub user_agent: String,
    pub ip: String,
}

impl Session {
    /// Whether the session can still be used at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// The fields of a session about to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub user_agent: String,
    pub ip: String,
}

/// What a refresh with a given generation should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDecision {
    /// The presented generation is current: move to the next one.
    Rotate,
    /// The presented generation was replaced less than the grace window ago: answer with the
    /// current generation again, change nothing.
    Grace,
    /// An old generation, or the previous one too late: revoke the whole session.
    Reuse,
    /// The session was revoked before.
    Revoked,
    /// The session's lifetime is over.
    Expired,
}

/// The rotation rule, without I/O. `grace` is in seconds: the previous generation answers while
/// fewer than `grace` whole seconds have passed since the rotation, so a grace of 0 never
/// answers it.
pub fn decide_refresh(
    session: &Session,
    presented_generation: i64,
    now: UnixTime,
    grace: i64,
) -> RefreshDecision {
    if session.revoked_at.is_some() {
        return RefreshDecision::Revoked;
    }
    if now >= session.expires_at {
        return RefreshDecision::Expired;
    }
    if presented_generation == session.generation {
        RefreshDecision::Rotate
    } else if presented_generation == session.generation - 1
        && now.saturating_sub(session.rotated_at) < grace
    {
        RefreshDecision::Grace
    } else {
        RefreshDecision::Reuse
    }
}

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevokeScope {
    /// Only the session named.
    #[default]
    Local,
    /// Every session of the user except the one named.
    Others,
    /// Every session of the user.
    Global,
}

impl RevokeScope {
    /// Parses `local`, `others` or `global`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "local" => Some(Self::Local),
            "others" => Some(Self::Others),
            "global" => Some(Self::Global),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(generation: i64, rotated_at: UnixTime) -> Session {
        Session {
            id: "s".into(),
            user_id: 1,
            generation,
            rotated_at,
            created_at: 0,
            last_used_at: rotated_at,
            expires_at: 10_000,
            revoked_at: None,
            revoked_reason: None,
            user_agent: String::new(),
            ip: String::new(),
        }
    }

    #[test]
    fn the_current_generation_rotates() {
        assert_eq!(
            decide_refresh(&session(3, 100), 3, 200, 10),
            RefreshDecision::Rotate
        );
    }

    #[test]
    fn the_previous_generation_inside_the_window_is_a_grace_retry() {
        assert_eq!(
            decide_refresh(&session(3, 100), 2, 100, 10),
            RefreshDecision::Grace
        );
        assert_eq!(
            decide_refresh(&session(3, 100), 2, 109, 10),
            RefreshDecision::Grace
        );
    }

    #[test]
    fn a_grace_of_zero_turns_the_window_off() {
        assert_eq!(
            decide_refresh(&session(3, 100), 2, 100, 0),
            RefreshDecision::Reuse
        );
    }

    #[test]
    fn the_previous_generation_after_the_window_is_reuse() {
        assert_eq!(
            decide_refresh(&session(3, 100), 2, 110, 10),
            RefreshDecision::Reuse
        );
    }

    #[test]
    fn an_older_generation_is_reuse_even_inside_the_window() {
        assert_eq!(
            decide_refresh(&session(3, 100), 1, 100, 10),
            RefreshDecision::Reuse
        );
    }

    #[test]
    fn a_future_generation_is_reuse() {
        assert_eq!(
            decide_refresh(&session(3, 100), 4, 100, 10),
            RefreshDecision::Reuse
        );
    }

    #[test]
    fn revoked_and_expired_sessions_refuse() {
        let mut s = session(3, 100);
        assert_eq!(decide_refresh(&s, 3, 10_000, 10), RefreshDecision::Expired);
        s.revoked_at = Some(150);
        assert_eq!(decide_refresh(&s, 3, 200, 10), RefreshDecision::Revoked);
    }

    #[test]
    fn revoke_scope_parses() {
        assert_eq!(RevokeScope::parse("others"), Some(RevokeScope::Others));
        assert_eq!(RevokeScope::parse("everything"), None);
    }
}
