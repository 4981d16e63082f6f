//! The two error envelopes.
//!
//! - [`OAuthError`]: the token endpoint's RFC 6749 body `{"error", "error_description"}`.
//! - [`ApiError`]: every other endpoint's `{"detail", "code"}` (the SimpleJWT/DRF shape the
//!   tutorial's clients understand), with `WWW-Authenticate: Bearer …` on 401.
//!
//! Internal causes (database messages, provider bodies) are logged, never put in a body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_core::StoreError;
use latchkey_tokens::TokenError;
use serde_json::{json, Map, Value};

/// An error of any endpoint but the token endpoint.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// Field errors, DRF style: `{"username": ["…"]}`, merged into the body.
    fields: Option<Map<String, Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            fields: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn not_authenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Authentication credentials were not provided.",
        )
    }

    pub(crate) fn bad_authorization_header() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "bad_authorization_header",
            "Authorization header must contain two space-delimited values",
        )
    }

    pub(crate) fn token(err: &TokenError) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "token_not_valid", err.to_string())
    }

    pub(crate) fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// A 400 with field errors: `{"detail", "code": "invalid", "<field>": ["<message>"]}`.
    pub(crate) fn invalid_fields(fields: Vec<(&'static str, String)>) -> Self {
        let detail = fields
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut map = Map::new();
        for (field, message) in fields {
            map.insert(field.to_owned(), json!([message]));
        }
        Self {
            fields: Some(map),
            ..Self::bad_request("invalid", detail)
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    pub(crate) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable; try again.",
        )
    }

    pub(crate) fn store(err: &StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict(what) => Self::new(StatusCode::CONFLICT, "conflict", *what),
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "storage failed");
                Self::unavailable()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.fields.unwrap_or_default();
        body.insert("detail".into(), Value::String(self.detail.clone()));
        body.insert("code".into(), Value::String(self.code.into()));
        let mut response = (self.status, Json(Value::Object(body))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.code == "not_authenticated" {
                r#"Bearer realm="api""#.to_owned()
            } else {
                format!(
                    r#"Bearer realm="api", error="invalid_token", error_description="{}""#,
                    self.detail.replace(['"', '\\'], "'")
                )
            };
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// An error of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn error(&self) -> &'static str {
        self.error
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_grant", description)
    }

    pub(crate) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable; try again.",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        // RFC 6749 §5.1: token responses must not be cached; errors neither.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn api_errors_have_detail_and_code_and_a_bearer_challenge() {
        let response = ApiError::token(&TokenError::Expired).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.starts_with(r#"Bearer realm="api", error="invalid_token""#));
        assert_eq!(
            body_of(response).await,
            json!({"detail": "Token is expired", "code": "token_not_valid"})
        );
    }

    #[tokio::test]
    async fn field_errors_keep_the_drf_shape_too() {
        let response = ApiError::invalid_fields(vec![("username", "taken".into())]).into_response();
        assert_eq!(
            body_of(response).await,
            json!({"detail": "username: taken", "code": "invalid", "username": ["taken"]})
        );
    }

    #[tokio::test]
    async fn oauth_errors_are_rfc6749_bodies() {
        let response = OAuthError::invalid_request("no code").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            body_of(response).await,
            json!({"error": "invalid_request", "error_description": "no code"})
        );
    }
}
