//! `POST /token`: authenticates the client (form body or HTTP Basic, secret compared in constant
//! time), redeems a single-use authorization code (expiry by the injected clock, same
//! `redirect_uri`, PKCE) and answers like Google: an access token and an RS256 ID token, or an
//! RFC 6749 error body.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

use crate::authorize::{parse_params, Params};
use crate::grants::PendingCode;
use crate::server::DevIdp;

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        (self.status, no_store(), Json(body)).into_response()
    }
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// `POST /token`.
pub(crate) async fn exchange(
    State(idp): State<DevIdp>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match redeem(&idp, &headers, &parse_params(&body)) {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(error) => error.into_response(),
    }
}

fn redeem(idp: &DevIdp, headers: &HeaderMap, params: &Params) -> Result<Value, OAuthError> {
    authenticate_client(idp, headers, params)?;
    let get = |key: &str| {
        params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    match get("grant_type") {
        Some("authorization_code") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            ))
        }
        None => {
            return Err(OAuthError::invalid_request(
                "Missing required parameter: grant_type",
            ))
        }
    }
    let code = get("code")
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: code"))?;
    // Removed before any other check: a code is good for one attempt only.
    let pending = idp.0.grants.take_code(code).ok_or_else(|| {
        OAuthError::invalid_grant("Malformed auth code, or the code was already used.")
    })?;
    let now = idp.0.clock.now();
    if now >= pending.expires_at {
        return Err(OAuthError::invalid_grant("Code expired."));
    }
    if pending.client_id != idp.0.config.client_id {
        return Err(OAuthError::invalid_grant(
            "The code was issued to another client.",
        ));
    }
    let redirect_uri = get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("Missing parameter: redirect_uri"))?;
    if !same_url(redirect_uri, &pending.redirect_uri) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri does not match the authorization request's.",
        ));
    }
    if let Some(pkce) = &pending.pkce {
        let verifier = get("code_verifier")
            .ok_or_else(|| OAuthError::invalid_grant("Missing code verifier."))?;
        if !pkce.accepts(verifier) {
            return Err(OAuthError::invalid_grant("Invalid code verifier."));
        }
    }
    issue_tokens(idp, &pending, now)
}

/// Checks the client's id and secret, from HTTP Basic if present, else from the body.
fn authenticate_client(
    idp: &DevIdp,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), OAuthError> {
    let (client_id, secret) = match headers.get(header::AUTHORIZATION) {
        Some(value) => basic_credentials(value.to_str().unwrap_or_default()).ok_or_else(|| {
            OAuthError::invalid_client("Malformed HTTP Basic client credentials.")
        })?,
        None => (
            params.get("client_id").cloned().unwrap_or_default(),
            params.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if client_id.is_empty() {
        return Err(OAuthError::invalid_request(
            "Could not determine client ID from request.",
        ));
    }
    let config = &idp.0.config;
    if client_id != config.client_id {
        return Err(OAuthError::invalid_client(
            "The OAuth client was not found.",
        ));
    }
    if secret.is_empty() {
        return Err(OAuthError::invalid_request("client_secret is missing."));
    }
    let matches: bool = secret
        .as_bytes()
        .ct_eq(config.client_secret.expose().as_bytes())
        .into();
    if !matches {
        return Err(OAuthError::invalid_client("Unauthorized"));
    }
    Ok(())
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1) → `(id, secret)`.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Whether two redirect URIs name the same URL (`http://x` and `http://x/` do).
fn same_url(given: &str, expected: &str) -> bool {
    match (Url::parse(given), Url::parse(expected)) {
        (Ok(given), Ok(expected)) => given == expected,
        _ => false,
    }
}

fn issue_tokens(idp: &DevIdp, pending: &PendingCode, now: i64) -> Result<Value, OAuthError> {
    let lifetime = i64::try_from(idp.0.config.token_lifetime.as_secs()).unwrap_or(i64::MAX);
    let exp = now.saturating_add(lifetime);
    let access_token = idp
        .0
        .grants
        .issue_access_token(pending.person.clone(), now, exp);

    let mut claims = pending.person.profile_claims(&idp.0.base_url);
    claims.insert("iss".into(), json!(idp.0.config.issuer));
    claims.insert("azp".into(), json!(pending.client_id));
    claims.insert("aud".into(), json!(pending.client_id));
    claims.insert("at_hash".into(), json!(at_hash(&access_token)));
    if let Some(nonce) = &pending.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(exp));
    let id_token = idp.0.keys.sign(&Value::Object(claims)).map_err(|error| {
        tracing::error!(%error, "dev identity provider could not sign an ID token");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Could not sign the ID token.",
        )
    })?;
    tracing::info!(email = %pending.person.email, "dev identity provider issued tokens");
    Ok(json!({
        "access_token": access_token,
        "expires_in": lifetime.saturating_sub(1),
        "scope": "openid email profile",
        "token_type": "Bearer",
        "id_token": id_token,
    }))
}

/// OIDC `at_hash`: base64url of the left half of SHA-256(access token).
fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_url_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        assert_eq!(
            basic_credentials(&header),
            Some(("my id".into(), "s:cret".into()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }

    #[test]
    fn redirect_uris_compare_as_urls() {
        assert!(same_url(
            "http://localhost:3000/login",
            "http://localhost:3000/login"
        ));
        assert!(same_url("http://LOCALHOST:80", "http://localhost/"));
        assert!(!same_url(
            "http://localhost:3000/login/",
            "http://localhost:3000/login"
        ));
        assert!(!same_url("not a url", "not a url"));
    }
}
