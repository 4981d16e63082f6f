//! The steps the token endpoints share: issuing a token pair for a session, and refreshing a
//! session from a refresh token. Each endpoint maps [`FlowError`] into its own envelope.

use latchkey_core::{RefreshOutcome, Session, User};
use latchkey_tokens::{IssuedToken, TokenError};

use crate::state::AppState;

/// An access token, the session's current refresh token, and the user.
#[derive(Debug)]
pub(crate) struct Pair {
    pub(crate) access: IssuedToken,
    pub(crate) refresh: IssuedToken,
    pub(crate) user: User,
}

/// Why a refresh failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FlowError {
    #[error("{0}")]
    Token(TokenError),
    #[error("Refresh token was already used; the session has been revoked")]
    Reused,
    #[error("Session has been revoked")]
    Revoked,
    #[error("Session has expired")]
    Expired,
    #[error("Session not found")]
    NotFound,
    #[error("User is inactive")]
    Inactive,
    #[error("storage unavailable")]
    Unavailable,
}

/// Signs a fresh access token and the session's current refresh token.
pub(crate) fn issue(state: &AppState, user: User, session: &Session) -> Result<Pair, FlowError> {
    let tokens = state.tokens();
    let access = tokens
        .issue_access(user.pk, &session.id, state.now())
        .map_err(FlowError::Token)?;
    let refresh = tokens.issue_refresh(session).map_err(FlowError::Token)?;
    Ok(Pair {
        access,
        refresh,
        user,
    })
}

/// Verifies a refresh token and applies the rotation rule to its session.
pub(crate) async fn refresh(state: &AppState, refresh_token: &str) -> Result<Pair, FlowError> {
    let now = state.now();
    let claims = state
        .tokens()
        .verify_refresh(refresh_token, now)
        .map_err(FlowError::Token)?;
    let generation = claims.gen.ok_or(FlowError::Token(TokenError::Invalid))?;
    let settings = &state.inner.settings;
    let lifetime = state.tokens().settings().refresh_lifetime;
    let outcome = state
        .store()
        .refresh(
            &claims.sid,
            generation,
            now,
            settings.refresh_reuse_grace,
            lifetime,
        )
        .await
        .map_err(|e| {
            tracing::error!(cause = %e, "storage failed during refresh");
            FlowError::Unavailable
        })?;
    let (user, session) = match outcome {
        RefreshOutcome::Rotated { user, session } => {
            tracing::debug!(
                user_id = user.pk,
                generation = session.generation,
                "session rotated"
            );
            (user, session)
        }
        RefreshOutcome::Grace { user, session } => {
            tracing::debug!(user_id = user.pk, "refresh retried within the grace window");
            (user, session)
        }
        RefreshOutcome::Reused => {
            tracing::warn!(
                user_id = claims.user_id,
                session = %claims.sid,
                generation,
                "refresh token reuse detected; session revoked"
            );
            return Err(FlowError::Reused);
        }
        RefreshOutcome::Revoked => return Err(FlowError::Revoked),
        RefreshOutcome::Expired => return Err(FlowError::Expired),
        RefreshOutcome::NotFound => return Err(FlowError::NotFound),
        RefreshOutcome::Inactive => return Err(FlowError::Inactive),
    };
    if user.pk != claims.user_id {
        return Err(FlowError::Token(TokenError::Invalid));
    }
    issue(state, user, &session)
}
