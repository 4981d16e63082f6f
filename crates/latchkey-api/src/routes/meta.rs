//! Public keys, issuer metadata, liveness and readiness.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.tokens().keys().jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let issuer = state
        .tokens()
        .settings()
        .issuer
        .trim_end_matches('/')
        .to_owned();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "userinfo_endpoint": format!("{issuer}/auth/user/"),
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store().ping().await.map_err(|e| {
        tracing::warn!(cause = %e, "readiness check failed");
        ApiError::unavailable()
    })?;
    Ok(Json(json!({ "status": "ready" })))
}
