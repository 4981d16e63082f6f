//! `GET /auth/sessions/` lists the signed-in user's live sessions (devices);
//! `DELETE /auth/sessions/{id}` ends one of them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use latchkey_core::RevokeScope;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::both_slashes;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    both_slashes("/auth/sessions/", get(list))
        .merge(both_slashes("/auth/sessions/{id}/", delete(end)))
}

/// One device, as the user sees it. Times are unix seconds.
#[derive(Debug, Serialize)]
struct SessionView {
    id: String,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    user_agent: String,
    ip: String,
    /// Whether this is the session of the token making the request.
    current: bool,
}

async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let sessions = state
        .store()
        .live_sessions(auth.user.pk, state.now())
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionView {
                current: s.id == auth.claims.sid,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .collect(),
    ))
}

async fn end(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let revoked = state
        .store()
        .revoke_sessions(
            auth.user.pk,
            &id,
            RevokeScope::Local,
            "ended by user",
            state.now(),
        )
        .await
        .map_err(|e| ApiError::store(&e))?;
    if revoked == 0 {
        // Unknown, someone else's, or already ended: all look the same from outside.
        return Err(ApiError::not_found());
    }
    tracing::info!(user_id = auth.user.pk, "session ended by its user");
    Ok(StatusCode::NO_CONTENT)
}
