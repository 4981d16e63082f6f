//! The client against providers that are slow, answer garbage, or lie in their ID tokens.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latchkey_oidc::{http_client, OidcProvider, ProviderError};
use serde_json::json;

use crate::fake::*;
use crate::helpers::REDIRECT;

fn assert_invalid(error: &ProviderError, says: &str) {
    assert!(
        matches!(error, ProviderError::InvalidIdToken { provider, reason } if provider == "google" && reason.contains(says)),
        "expected InvalidIdToken mentioning {says:?}, got {error:?}"
    );
}

/// A fake provider whose token endpoint returns an ID token with `claims` signed by `key`, and
/// whose JWKS publishes `key`.
async fn fake_signing(key: &TestKey, claims: &serde_json::Value) -> Fake {
    Fake::start(Script::json(token_answer(&key.sign(claims)), key.jwks())).await
}

#[tokio::test]
async fn a_well_behaved_fake_signs_someone_in_and_the_jwks_is_cached() {
    let key = TestKey::generate("k1");
    let fake = fake_signing(&key, &google_claims()).await;
    let provider = fake.provider();
    let profile = provider.exchange_code("c", REDIRECT, None).await.unwrap();
    assert_eq!(profile.subject, "110169484474386276334");
    assert_eq!(profile.last_name.as_deref(), Some("Lee"));
    provider.exchange_code("c", REDIRECT, None).await.unwrap();
    assert_eq!(fake.hits.jwks.load(Ordering::SeqCst), 1);

    fake.clock.advance(Duration::from_secs(3600));
    provider.exchange_code("c", REDIRECT, None).await.unwrap(); // exp = now, inside the leeway
    assert_eq!(
        fake.hits.jwks.load(Ordering::SeqCst),
        2,
        "refetched after the TTL"
    );
}

#[tokio::test]
async fn a_slow_provider_times_out() {
    let key = TestKey::generate("k1");
    let mut script = Script::json(token_answer(&key.sign(&google_claims())), key.jwks());
    script.token_delay = Duration::from_secs(3);
    let fake = Fake::start(script).await;
    let provider = OidcProvider::new(
        fake.settings(),
        http_client(Duration::from_millis(200)).unwrap(),
        fake.clock.clone(),
    );
    let error = provider
        .exchange_code("c", REDIRECT, None)
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(error.provider(), "google");
}

#[tokio::test]
async fn an_html_answer_is_a_bad_response() {
    let mut script = Script::json(
        "<!DOCTYPE html><html><body>Oops</body></html>".into(),
        json!({}),
    );
    script.token_content_type = "text/html";
    let fake = Fake::start(script).await;
    let error = fake.exchange_error().await;
    assert!(
        matches!(&error, ProviderError::BadResponse { reason, .. } if reason.contains("HTML")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_success_without_id_token_is_a_bad_response() {
    let fake = Fake::start(Script::json(
        json!({"access_token": "x"}).to_string(),
        json!({}),
    ))
    .await;
    let error = fake.exchange_error().await;
    assert!(
        matches!(error, ProviderError::BadResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_huge_answer_is_a_bad_response() {
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let fake = Fake::start(Script::json(body, json!({}))).await;
    let error = fake.exchange_error().await;
    assert!(
        matches!(&error, ProviderError::BadResponse { reason, .. } if reason.contains("larger")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_server_error_is_unreachable_and_a_4xx_without_json_is_a_rejection() {
    let mut script = Script::json("oops".into(), json!({}));
    script.token_status = StatusCode::BAD_GATEWAY;
    let fake = Fake::start(script.clone()).await;
    let error = fake.exchange_error().await;
    assert!(
        matches!(error, ProviderError::Unreachable { .. }),
        "{error:?}"
    );

    script.token_status = StatusCode::BAD_REQUEST;
    let fake = Fake::start(script).await;
    let error = fake.exchange_error().await;
    assert_eq!(
        error,
        ProviderError::CodeRejected {
            provider: "google".into(),
            error: "http_400".into(),
            description: None
        }
    );
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_invalid() {
    let published = TestKey::generate("k1");
    let forger = TestKey::generate("k1");
    let fake = Fake::start(Script::json(
        token_answer(&forger.sign(&google_claims())),
        published.jwks(),
    ))
    .await;
    let error = fake.exchange_error().await;
    assert_invalid(&error, "signature");
}

#[tokio::test]
async fn a_token_for_another_audience_is_invalid() {
    let key = TestKey::generate("k1");
    let mut claims = google_claims();
    claims["aud"] = json!("someone-else.apps.googleusercontent.com");
    let error = fake_signing(&key, &claims).await.exchange_error().await;
    assert_invalid(&error, "audience");

    claims["aud"] = json!(["someone-else", crate::helpers::CLIENT_ID]);
    claims["azp"] = json!("someone-else");
    let error = fake_signing(&key, &claims).await.exchange_error().await;
    assert_invalid(&error, "azp");
}

#[tokio::test]
async fn a_token_from_another_issuer_is_invalid() {
    let key = TestKey::generate("k1");
    let mut claims = google_claims();
    claims["iss"] = json!("https://accounts.evil.example");
    let error = fake_signing(&key, &claims).await.exchange_error().await;
    assert_invalid(&error, "issuer");

    claims["iss"] = json!("accounts.google.com");
    fake_signing(&key, &claims)
        .await
        .provider()
        .exchange_code("c", REDIRECT, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let key = TestKey::generate("k1");
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(google_claims().to_string());
    let fake = Fake::start(Script::json(
        token_answer(&format!("{header}.{payload}.")),
        key.jwks(),
    ))
    .await;
    let error = fake.exchange_error().await;
    assert_invalid(&error, "none");
}

#[tokio::test]
async fn an_hmac_token_keyed_with_the_public_key_is_refused() {
    let key = TestKey::generate("k1");
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let forged = jsonwebtoken::encode(
        &header,
        &google_claims(),
        &jsonwebtoken::EncodingKey::from_secret(key.jwk["n"].as_str().unwrap().as_bytes()),
    )
    .unwrap();
    let fake = Fake::start(Script::json(token_answer(&forged), key.jwks())).await;
    let error = fake.exchange_error().await;
    assert_invalid(&error, "HS256");
}

#[tokio::test]
async fn garbage_instead_of_an_id_token_is_invalid() {
    for garbage in ["", "abc", "a.b.c", "....", "\u{0}"] {
        let fake = Fake::start(Script::json(token_answer(garbage), json!({"keys": []}))).await;
        let error = fake.exchange_error().await;
        assert!(
            matches!(
                error,
                ProviderError::InvalidIdToken { .. } | ProviderError::BadResponse { .. }
            ),
            "{garbage:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn userinfo_completes_a_terse_id_token_for_the_same_subject_only() {
    let key = TestKey::generate("k1");
    let claims = json!({
        "iss": "https://accounts.google.com", "aud": crate::helpers::CLIENT_ID,
        "sub": "42", "iat": crate::helpers::START, "exp": crate::helpers::START + 3600,
    });
    let mut script = Script::json(token_answer(&key.sign(&claims)), key.jwks());
    script.userinfo = json!({
        "sub": "42", "email": "ann@example.com", "email_verified": "true",
        "name": "Ann Lee", "picture": "http://p/a.png",
    });
    let fake = Fake::start(script.clone()).await;
    let profile = fake
        .provider()
        .exchange_code("c", REDIRECT, None)
        .await
        .unwrap();
    assert_eq!(profile.subject, "42");
    assert_eq!(profile.email.as_deref(), Some("ann@example.com"));
    assert!(profile.email_verified);
    assert_eq!(profile.first_name.as_deref(), Some("Ann"));
    assert_eq!(profile.last_name.as_deref(), Some("Lee"));

    script.userinfo["sub"] = json!("43");
    let fake = Fake::start(script).await;
    let error = fake.exchange_error().await;
    assert!(
        matches!(error, ProviderError::BadResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_judged_by_the_injected_clock() {
    let key = TestKey::generate("k1");
    let fake = fake_signing(&key, &google_claims()).await;
    let provider = fake.provider();
    fake.clock.set(crate::helpers::START + 3600 + 61);
    let error = provider
        .exchange_code("c", REDIRECT, None)
        .await
        .unwrap_err();
    assert_invalid(&error, "expired");
}
