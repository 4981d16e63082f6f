//! The [`AuthUser`] extractor: a route that takes it answers only to a valid access token of a
//! live session of an active user.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use latchkey_core::User;
use latchkey_tokens::Claims;

use crate::error::ApiError;
use crate::state::AppState;

/// The signed-in user of a request, from `Authorization: Bearer <access token>`.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub claims: Arc<Claims>,
}

/// The token of an `Authorization: Bearer <token>` header. `Ok(None)` when there is no header
/// or another scheme (those are "no credentials", as in DRF).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::bad_authorization_header())?;
    let mut parts = value.split(' ').filter(|p| !p.is_empty());
    match parts.next() {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer") => {}
        _ => return Ok(None),
    }
    match (parts.next(), parts.next()) {
        (Some(token), None) => Ok(Some(token)),
        _ => Err(ApiError::bad_authorization_header()),
    }
}

impl AuthUser {
    /// Verifies an access token and loads its user and session in one store round trip.
    pub(crate) async fn from_token(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let now = state.now();
        let claims = state
            .tokens()
            .verify_access(token, now)
            .map_err(|e| ApiError::token(&e))?;
        let found = state
            .store()
            .user_and_session(claims.user_id, &claims.sid, now)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let Some((user, session_live)) = found else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "user_not_found",
                "User not found",
            ));
        };
        if !user.is_active {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "user_inactive",
                "User is inactive",
            ));
        }
        if !session_live {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_not_valid",
                "Token's session has ended",
            ));
        }
        Ok(Self { user, claims })
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?.ok_or_else(ApiError::not_authenticated)?;
        Self::from_token(state, token).await
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_headers_are_parsed() {
        assert_eq!(bearer_token(&HeaderMap::new()).unwrap(), None);
        assert_eq!(bearer_token(&with_auth("Bearer abc")).unwrap(), Some("abc"));
        assert_eq!(bearer_token(&with_auth("bearer abc")).unwrap(), Some("abc"));
        assert_eq!(bearer_token(&with_auth("Token abc")).unwrap(), None);
        assert_eq!(bearer_token(&with_auth("Basic Zm9v")).unwrap(), None);
    }

    #[test]
    fn bearer_with_the_wrong_number_of_parts_is_refused() {
        for value in ["Bearer", "Bearer a b"] {
            let err = bearer_token(&with_auth(value)).unwrap_err();
            assert_eq!(err.code(), "bad_authorization_header");
        }
    }
}
