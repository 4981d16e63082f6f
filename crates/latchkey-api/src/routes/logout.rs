//! `POST /auth/logout/`: ends sessions for real. The session is named by a refresh token in the
//! body (`refresh` or `refresh_token`) or, failing that, by the Bearer access token. `scope`
//! chooses `local` (default: this session), `others` or `global`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use latchkey_core::RevokeScope;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{bearer_token, AuthUser};
use crate::routes::both_slashes;
use crate::routes::simplejwt::read_params;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    both_slashes("/auth/logout/", post(logout))
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(&state, &headers, body)?;
    let scope = match params.get("scope") {
        None => RevokeScope::Local,
        Some(s) => RevokeScope::parse(s).ok_or_else(|| {
            ApiError::invalid_fields(vec![(
                "scope",
                "Must be one of local, others, global.".into(),
            )])
        })?,
    };
    let now = state.now();
    let (user_id, session_id) = match params.first_of(&["refresh", "refresh_token"]) {
        Some(token) => {
            let claims = state
                .tokens()
                .verify_refresh(token, now)
                .map_err(|e| ApiError::token(&e))?;
            (claims.user_id, claims.sid.clone())
        }
        None => {
            let token = bearer_token(&headers)?.ok_or_else(ApiError::not_authenticated)?;
            let auth = AuthUser::from_token(&state, token).await?;
            (auth.user.pk, auth.claims.sid.clone())
        }
    };
    let revoked = state
        .store()
        .revoke_sessions(user_id, &session_id, scope, "logout", now)
        .await
        .map_err(|e| ApiError::store(&e))?;
    tracing::info!(user_id, revoked, ?scope, "logged out");
    Ok(Json(
        json!({ "detail": "Successfully logged out.", "revoked": revoked }),
    ))
}
