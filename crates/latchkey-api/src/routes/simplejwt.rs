//! SimpleJWT's endpoints, for clients written against dj-rest-auth:
//! `POST /auth/token/refresh/` (`{"refresh"}` → `{"access", "refresh"}`) and
//! `POST /auth/token/verify/` (`{"token"}` → `200 {}` or 401).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::body::{BodyError, Params};
use crate::error::ApiError;
use crate::flow::{self, FlowError};
use crate::routes::both_slashes;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    both_slashes("/auth/token/refresh/", post(refresh))
        .merge(both_slashes("/auth/token/verify/", post(verify)))
}

pub(crate) fn read_params(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Params, ApiError> {
    let limit = state.inner.settings.max_body_bytes;
    let body = body.map_err(|r| {
        let e = BodyError::from_rejection(&r, limit);
        ApiError::new(e.status(), "parse_error", e.to_string())
    })?;
    Params::parse(headers, &body)
        .map_err(|e| ApiError::new(e.status(), "parse_error", e.to_string()))
}

async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(&state, &headers, body)?;
    let token = params
        .first_of(&["refresh", "refresh_token"])
        .ok_or_else(|| {
            ApiError::invalid_fields(vec![("refresh", "This field is required.".into())])
        })?;
    let pair = flow::refresh(&state, token).await.map_err(|e| match e {
        FlowError::Unavailable => ApiError::unavailable(),
        FlowError::Inactive => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "no_active_account",
            "No active account found for the given token.",
        ),
        other => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_not_valid",
            other.to_string(),
        ),
    })?;
    Ok(Json(
        json!({ "access": pair.access.token, "refresh": pair.refresh.token }),
    ))
}

async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(&state, &headers, body)?;
    let token = params.get("token").ok_or_else(|| {
        ApiError::invalid_fields(vec![("token", "This field is required.".into())])
    })?;
    let now = state.now();
    // Like SimpleJWT's UntypedToken: either type verifies.
    let claims = state
        .tokens()
        .verify_any(token, now)
        .map_err(|e| ApiError::token(&e))?;
    let live = state
        .store()
        .user_and_session(claims.user_id, &claims.sid, now)
        .await
        .map_err(|e| ApiError::store(&e))?
        .is_some_and(|(user, session_live)| user.is_active && session_live);
    if !live {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_not_valid",
            "Token's session has ended",
        ));
    }
    Ok(Json(json!({})))
}
