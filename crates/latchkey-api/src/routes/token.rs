//! `POST /social-login/{provider}/`: the token endpoint of the tutorial's Nuxt app.
//!
//! One URL serves two grants, told apart by content, never by substring
//! (`nuxt-auth-wire.md` §9.2):
//! 1. `grant_type=refresh_token`, or a refresh token (`refresh_token`, `refresh`,
//!    `refreshToken`) and no `code` → refresh;
//! 2. else a `code` (with `grant_type` absent, empty or `authorization_code`) → code exchange;
//! 3. else `unsupported_grant_type` for another grant type, `invalid_request` otherwise.
//!
//! Any `Authorization` header is ignored: auth-next sends a stale one on the code exchange.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use latchkey_core::{NewSession, SignIn, SignInOutcome, User};
use serde::Serialize;

use crate::body::{BodyError, Params};
use crate::error::OAuthError;
use crate::flow::{self, FlowError, Pair};
use crate::provider::ProviderFailure;
use crate::routes::both_slashes;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    both_slashes("/social-login/{provider}/", post(token))
}

/// The token response: RFC 6749 fields, the user (as the tutorial's login answer had it) and,
/// on refresh, the tutorial backend's `access`/`refresh` aliases.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
}

impl TokenResponse {
    fn new(pair: Pair, now: i64, with_aliases: bool) -> Self {
        let (access, refresh) = if with_aliases {
            (
                Some(pair.access.token.clone()),
                Some(pair.refresh.token.clone()),
            )
        } else {
            (None, None)
        };
        Self {
            expires_in: pair.access.expires_at.saturating_sub(now),
            access_token: pair.access.token,
            refresh_token: pair.refresh.token,
            token_type: "Bearer",
            user: pair.user,
            access,
            refresh,
        }
    }
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

const REFRESH_FIELDS: [&str; 3] = ["refresh_token", "refresh", "refreshToken"];

async fn token(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    client: Client,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenResponse, OAuthError> {
    if !state.inner.providers.contains_key(&provider) {
        return Err(OAuthError::new(
            StatusCode::NOT_FOUND,
            "invalid_request",
            format!("No identity provider named {provider:?} is configured."),
        ));
    }
    let limit = state.inner.settings.max_body_bytes;
    let body = body.map_err(|r| body_error(&BodyError::from_rejection(&r, limit)))?;
    let params = Params::parse(&headers, &body).map_err(|e| body_error(&e))?;
    params
        .require_strings(&[
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "refresh_token",
            "refresh",
            "refreshToken",
        ])
        .map_err(|e| body_error(&e))?;

    let grant_type = params.get("grant_type");
    let code = params.get("code");
    let refresh_token = params.first_of(&REFRESH_FIELDS);
    match (grant_type, code, refresh_token) {
        (Some("refresh_token"), _, Some(token)) | (None, None, Some(token)) => {
            refresh(&state, token).await
        }
        (Some("refresh_token"), _, None) => Err(OAuthError::invalid_request(
            "The refresh_token parameter is required.",
        )),
        (None | Some("authorization_code"), Some(code), _) => {
            exchange(&state, &provider, code, &params, client).await
        }
        (Some("authorization_code"), None, _) => Err(OAuthError::invalid_request(
            "The code parameter is required.",
        )),
        (Some(other), _, _) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "grant_type {:?} is not supported; use authorization_code or refresh_token.",
                truncate(other)
            ),
        )),
        (None, None, None) => Err(OAuthError::invalid_request(
            "Send either a code (to sign in) or a refresh_token (to refresh).",
        )),
    }
}

fn body_error(err: &BodyError) -> OAuthError {
    OAuthError::new(err.status(), "invalid_request", err.to_string())
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Who is signing in from where, remembered on the session.
struct Client {
    user_agent: String,
    ip: String,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(256)
            .collect();
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default();
        Ok(Self { user_agent, ip })
    }
}

async fn exchange(
    state: &AppState,
    provider_name: &str,
    code: &str,
    params: &Params,
    client: Client,
) -> Result<TokenResponse, OAuthError> {
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(OAuthError::invalid_request(
            "The redirect_uri parameter is required.",
        ));
    };
    let settings = &state.inner.settings;
    if !settings
        .redirect_uris
        .iter()
        .any(|allowed| allowed == redirect_uri)
    {
        return Err(OAuthError::invalid_request(format!(
            "redirect_uri {:?} is not on the allow-list.",
            truncate(redirect_uri)
        )));
    }
    let provider = state
        .inner
        .providers
        .get(provider_name)
        .ok_or_else(|| OAuthError::invalid_request("unknown provider"))?;
    let profile = provider
        .exchange_code(code, redirect_uri, params.get("code_verifier"))
        .await
        .map_err(|e| provider_error(&e))?;

    let now = state.now();
    let sign_in = SignIn {
        provider: provider_name.to_owned(),
        profile,
        link_verified_email: provider.link_verified_email(),
        session: NewSession {
            id: uuid::Uuid::new_v4().simple().to_string(),
            created_at: now,
            expires_at: now.saturating_add(state.tokens().settings().refresh_lifetime),
            user_agent: client.user_agent,
            ip: client.ip,
        },
    };
    let outcome = state.store().sign_in(sign_in).await.map_err(|e| {
        tracing::error!(cause = %e, "storage failed during sign-in");
        OAuthError::unavailable()
    })?;
    match outcome {
        SignInOutcome::SignedIn {
            user,
            session,
            created_user,
        } => {
            tracing::info!(user_id = user.pk, provider = provider_name, created_user, "signed in");
            let pair = flow::issue(state, user, &session).map_err(|e| flow_error(&e))?;
            Ok(TokenResponse::new(pair, now, false))
        }
        SignInOutcome::Inactive => Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            "This account is deactivated.",
        )),
        SignInOutcome::EmailTaken => Err(OAuthError::new(
            StatusCode::CONFLICT,
            "account_exists",
            format!(
                "An account with this e-mail address already exists, and {provider_name} did not \
                 confirm the address is verified, so it was not linked. Sign in the way you did before."
            ),
        )),
    }
}

fn provider_error(err: &ProviderFailure) -> OAuthError {
    match err {
        ProviderFailure::CodeRejected {
            provider,
            description,
        } => {
            tracing::info!(%provider, %description, "provider rejected a code");
            OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                format!("{provider} rejected the authorization code."),
            )
        }
        ProviderFailure::Timeout { provider } => {
            tracing::warn!(%provider, "provider timed out");
            OAuthError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "temporarily_unavailable",
                format!("{provider} did not answer in time; try again."),
            )
        }
        ProviderFailure::Failed { provider, reason } => {
            tracing::warn!(%provider, %reason, "provider failed");
            OAuthError::new(
                StatusCode::BAD_GATEWAY,
                "temporarily_unavailable",
                format!("{provider} failed to complete the sign-in; try again."),
            )
        }
    }
}

async fn refresh(state: &AppState, refresh_token: &str) -> Result<TokenResponse, OAuthError> {
    let pair = flow::refresh(state, refresh_token)
        .await
        .map_err(|e| flow_error(&e))?;
    Ok(TokenResponse::new(pair, state.now(), true))
}

fn flow_error(err: &FlowError) -> OAuthError {
    match err {
        FlowError::Unavailable => OAuthError::unavailable(),
        FlowError::Token(latchkey_tokens::TokenError::Signing) => {
            tracing::error!("token signing failed");
            OAuthError::unavailable()
        }
        other => OAuthError::invalid_grant(other.to_string()),
    }
}
