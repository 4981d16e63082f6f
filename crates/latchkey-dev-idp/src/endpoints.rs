//! The read-only endpoints: the discovery document, the JWKS, userinfo (by access token) and the
//! generated avatar SVG the `picture` claim points to.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::page::escape;
use crate::person::Person;
use crate::server::DevIdp;

/// `GET /.well-known/openid-configuration`, shaped like Google's. `issuer` is the configured
/// issuer (Google's by default); every endpoint is on this server.
pub(crate) async fn discovery(State(idp): State<DevIdp>) -> Json<Value> {
    let base = &idp.0.base_url;
    Json(json!({
        "issuer": idp.0.config.issuer,
        "authorization_endpoint": format!("{base}/o/oauth2/v2/auth"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/v1/userinfo"),
        "jwks_uri": format!("{base}/oauth2/v3/certs"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": [
            "aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss",
            "locale", "name", "picture", "sub"
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
    }))
}

/// `GET /oauth2/v3/certs`.
pub(crate) async fn jwks(State(idp): State<DevIdp>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(idp.0.keys.jwks()),
    )
        .into_response()
}

/// `GET /v1/userinfo` and `GET /oauth2/v3/userinfo`: the profile of the access token's owner.
pub(crate) async fn userinfo(State(idp): State<DevIdp>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let person = token.and_then(|t| idp.0.grants.person_for_access_token(t, idp.0.clock.now()));
    match person {
        Some(person) => Json(Value::Object(person.profile_claims(&idp.0.base_url))).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            Json(json!({
                "error": "invalid_request",
                "error_description": "Invalid Credentials",
            })),
        )
            .into_response(),
    }
}

/// `GET /avatar/{sub}.svg`: a coloured circle with the person's initials, so a demo shows a
/// picture without the internet.
pub(crate) async fn avatar(State(idp): State<DevIdp>, Path(file): Path<String>) -> Response {
    let Some(sub) = file.strip_suffix(".svg") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let initials = idp
        .0
        .grants
        .person_by_subject(sub)
        .map_or_else(|| "?".to_owned(), |p: Person| p.initials());
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        avatar_svg(sub, &initials),
    )
        .into_response()
}

fn avatar_svg(seed: &str, initials: &str) -> String {
    const COLOURS: [&str; 8] = [
        "#1a73e8", "#d93025", "#188038", "#e37400", "#9334e6", "#007b83", "#c5221f", "#5f6368",
    ];
    let digest = Sha256::digest(seed.as_bytes());
    let colour = COLOURS[usize::from(digest[0]) % COLOURS.len()];
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"96\" height=\"96\" viewBox=\"0 0 96 96\">\
<circle cx=\"48\" cy=\"48\" r=\"48\" fill=\"{colour}\"/>\
<text x=\"48\" y=\"48\" dy=\".35em\" text-anchor=\"middle\" font-family=\"system-ui,sans-serif\" \
font-size=\"40\" fill=\"#fff\">{}</text></svg>",
        escape(initials)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatar_escapes_initials() {
        let svg = avatar_svg("1", "<&");
        assert!(svg.contains("&lt;&amp;"));
        assert!(svg.starts_with("<svg"));
    }
}
