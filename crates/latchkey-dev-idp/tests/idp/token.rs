//! `POST /token`: the code exchange, its errors, PKCE, and the ID token against the JWKS.

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::*;

const VERIFIER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef01234567";

/// Verifies `id_token` against the provider's JWKS and returns its claims.
async fn verify(idp: &TestIdp, id_token: &str) -> Value {
    let jwks: Value = idp
        .http
        .get(idp.url("/oauth2/v3/certs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid is published");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[CLIENT_ID]);
    validation.set_issuer(&["https://accounts.google.com"]);
    validation.validate_exp = false; // the FakeClock stands in 2023
    jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn the_code_flow_returns_googles_shape_and_a_verifiable_id_token() {
    let idp = start().await;
    let code = idp
        .sign_in("Ann@Example.com", &[("nonce", "n-0S6_WzA2Mj")])
        .await;
    assert!(code.starts_with("4/0A"));
    let (status, body) = idp.redeem(&code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid email profile");

    let claims = verify(&idp, body["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["iss"], "https://accounts.google.com");
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["email"], "Ann@Example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Ann Marie Lee");
    assert_eq!(claims["given_name"], "Ann");
    assert_eq!(claims["family_name"], "Marie Lee");
    assert_eq!(claims["locale"], "en");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["iat"], START);
    assert_eq!(claims["exp"], START + 3600);
    let sub = claims["sub"].as_str().unwrap();
    assert_eq!(sub.len(), 21);
    assert_eq!(
        claims["picture"],
        format!("{}/avatar/{sub}.svg", idp.handle.base_url())
    );

    // The same person gets the same sub next time.
    let again = idp.sign_in("ann@example.com", &[]).await;
    let (_, body) = idp.redeem(&again, &[]).await;
    let claims = verify(&idp, body["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], sub);
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn an_unchecked_email_verified_box_is_reported() {
    let idp = start().await;
    let html = idp
        .authorize(&format!(
            "response_type=code&client_id={CLIENT_ID}&redirect_uri={REDIRECT}"
        ))
        .await
        .text()
        .await
        .unwrap();
    let mut form = hidden_inputs(&html);
    form.push(("email".into(), "unverified@example.com".into()));
    let code = query_param(&idp.approve(&form).await, "code").unwrap();
    let (_, body) = idp.redeem(&code, &[]).await;
    let claims = verify(&idp, body["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["name"], "Unverified");
}

#[tokio::test]
async fn pkce_s256_is_checked() {
    let idp = start().await;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    let code = idp.sign_in("ann@example.com", &pkce).await;
    let (status, body) = idp.redeem(&code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let code = idp.sign_in("ann@example.com", &pkce).await;
    let (status, body) = idp.redeem(&code, &[("code_verifier", "wrong")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Invalid code verifier.");

    let code = idp.sign_in("ann@example.com", &pkce).await;
    let (status, body) = idp.redeem(&code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Missing code verifier.");
}

#[tokio::test]
async fn pkce_plain_compares_the_verifier() {
    let idp = start().await;
    let pkce = [
        ("code_challenge", VERIFIER),
        ("code_challenge_method", "plain"),
    ];
    let code = idp.sign_in("ann@example.com", &pkce).await;
    let (status, _) = idp.redeem(&code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(status, StatusCode::OK);

    // An empty method means plain (RFC 7636).
    let code = idp
        .sign_in(
            "ann@example.com",
            &[("code_challenge", VERIFIER), ("code_challenge_method", "")],
        )
        .await;
    let (status, body) = idp.redeem(&code, &[("code_verifier", "nope")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_code_works_once() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    assert_eq!(idp.redeem(&code, &[]).await.0, StatusCode::OK);
    let (status, body) = idp.redeem(&code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_failed_attempt_also_uses_up_the_code() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    let (status, _) = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://evil.example/cb"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = idp.redeem(&code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_rejected() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    idp.clock.advance(Duration::from_secs(5 * 60));
    let (status, body) = idp.redeem(&code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Code expired.");
}

#[tokio::test]
async fn the_redirect_uri_must_match_the_authorization_request() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    let (status, body) = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:3000/other"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "redirect_uri_mismatch");
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    let (status, body) = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT_ID),
            ("client_secret", "latchkey-dev-secreT"),
        ])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    let (status, body) = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "who"),
        ])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn http_basic_client_authentication_works() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    let response = idp
        .http
        .post(idp.url("/token"))
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"))),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn other_grant_types_and_missing_fields_are_refused() {
    let idp = start().await;
    let auth = [("client_id", CLIENT_ID), ("client_secret", SECRET)];
    let (status, body) = idp
        .token(&[
            auth[0],
            auth[1],
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");

    let (status, body) = idp
        .token(&[auth[0], auth[1], ("grant_type", "authorization_code")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    let (status, body) = idp.token(&[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_and_both_are_published() {
    let idp = start().await;
    let old_kid = idp.handle.idp().current_kid();
    let new_kid = idp.handle.rotate_key().await.unwrap();
    assert_ne!(old_kid, new_kid);
    let code = idp.sign_in("ann@example.com", &[]).await;
    let (_, body) = idp.redeem(&code, &[]).await;
    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(id_token).unwrap().kid,
        Some(new_kid)
    );
    verify(&idp, id_token).await;
    let jwks: Value = idp
        .http
        .get(idp.url("/oauth2/v3/certs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
}
