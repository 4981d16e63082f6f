//! The client against the real dev identity provider: the happy path, PKCE, rejected codes,
//! key rotation, expiry and issuer checks.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latchkey_dev_idp::DevIdpConfig;
use latchkey_oidc::{ProviderError, ProviderSettings};
use sha2::{Digest, Sha256};

use crate::helpers::*;

const VERIFIER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef01234567";

#[tokio::test]
async fn a_code_from_the_dev_idp_signs_someone_in() {
    let idp = start_idp().await;
    let provider = idp.provider();
    let endpoints = provider.endpoints().await.unwrap();
    assert_eq!(
        endpoints.token_url,
        format!("{}/token", idp.handle.base_url())
    );

    let code = idp.sign_in("ann@example.com", true, &[]).await;
    let profile = provider.exchange_code(&code, REDIRECT, None).await.unwrap();
    assert_eq!(profile.subject.len(), 21);
    assert_eq!(profile.email.as_deref(), Some("ann@example.com"));
    assert!(profile.email_verified);
    assert_eq!(profile.first_name.as_deref(), Some("Ann"));
    assert_eq!(profile.last_name.as_deref(), Some("Marie Lee"));
    assert_eq!(
        profile.picture,
        Some(format!(
            "{}/avatar/{}.svg",
            idp.handle.base_url(),
            profile.subject
        ))
    );
}

#[tokio::test]
async fn the_pkce_verifier_is_forwarded() {
    let idp = start_idp().await;
    let provider = idp.provider();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    let code = idp.sign_in("ann@example.com", true, &pkce).await;
    let profile = provider
        .exchange_code(&code, REDIRECT, Some(VERIFIER))
        .await
        .unwrap();
    assert_eq!(profile.email.as_deref(), Some("ann@example.com"));

    let code = idp.sign_in("ann@example.com", true, &pkce).await;
    let error = provider
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::CodeRejected { error, .. } if error == "invalid_grant"),
        "{error}"
    );
}

#[tokio::test]
async fn a_used_code_is_rejected() {
    let idp = start_idp().await;
    let provider = idp.provider();
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider.exchange_code(&code, REDIRECT, None).await.unwrap();
    let error = provider
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap_err();
    match &error {
        ProviderError::CodeRejected {
            provider,
            error,
            description,
        } => {
            assert_eq!(provider, "google");
            assert_eq!(error, "invalid_grant");
            assert!(description.is_some());
        }
        other => panic!("expected CodeRejected, got {other:?}"),
    }
    assert!(error.is_code_rejected());
    assert!(error.to_string().starts_with("google rejected"));
}

#[tokio::test]
async fn a_wrong_redirect_uri_or_secret_is_a_rejection() {
    let idp = start_idp().await;
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    let error = idp
        .provider()
        .exchange_code(&code, "http://localhost:3000/elsewhere", None)
        .await
        .unwrap_err();
    assert!(error.is_code_rejected(), "{error}");

    let mut settings = settings_for(&idp);
    settings.client_secret = "wrong".into();
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    let error = provider(settings, idp.clock.clone())
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::CodeRejected { error, .. } if error == "invalid_client"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unverified_email_is_reported_as_such() {
    let idp = start_idp().await;
    let code = idp.sign_in("ann@example.com", false, &[]).await;
    let profile = idp
        .provider()
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap();
    assert!(!profile.email_verified);
    assert_eq!(profile.email.as_deref(), Some("ann@example.com"));
}

#[tokio::test]
async fn a_rotated_key_is_found_by_refetching_the_jwks() {
    let idp = start_idp().await;
    let provider = idp.provider();
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider.exchange_code(&code, REDIRECT, None).await.unwrap();

    idp.handle.rotate_key().await.unwrap();
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider.exchange_code(&code, REDIRECT, None).await.unwrap();
}

#[tokio::test]
async fn unknown_kids_force_at_most_one_refetch_per_ten_seconds() {
    let idp = start_idp().await;
    let provider = idp.provider();
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider.exchange_code(&code, REDIRECT, None).await.unwrap();

    idp.handle.rotate_key().await.unwrap();
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider.exchange_code(&code, REDIRECT, None).await.unwrap(); // forced refetch

    idp.handle.rotate_key().await.unwrap();
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    let error = provider
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::InvalidIdToken { reason, .. } if reason.contains("kid")),
        "{error}"
    );

    idp.clock.advance(Duration::from_secs(10));
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider.exchange_code(&code, REDIRECT, None).await.unwrap();
}

#[tokio::test]
async fn an_expired_id_token_is_refused_after_the_leeway() {
    let idp = start_idp().await;
    let provider = idp.provider();

    idp.clock.advance(Duration::from_secs(3600 + 60));
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider.exchange_code(&code, REDIRECT, None).await.unwrap();

    idp.clock.advance(Duration::from_secs(1));
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    let error = provider
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::InvalidIdToken { reason, .. } if reason.contains("expired")),
        "{error}"
    );
}

#[tokio::test]
async fn tokens_from_another_issuer_are_refused() {
    let idp = start_idp_with(DevIdpConfig {
        issuer: "https://evil.example".into(),
        ..DevIdpConfig::default()
    })
    .await;

    // With discovery, the document's issuer gives it away.
    let error = idp.provider().endpoints().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::BadResponse { .. }),
        "{error}"
    );

    // With explicit endpoints, the ID token's iss does.
    let base = idp.handle.base_url();
    let settings = ProviderSettings {
        discovery_url: None,
        token_url: Some(format!("{base}/token")),
        jwks_url: Some(format!("{base}/oauth2/v3/certs")),
        ..settings_for(&idp)
    };
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    let error = provider(settings.clone(), idp.clock.clone())
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::InvalidIdToken { reason, .. } if reason.contains("issuer")),
        "{error}"
    );

    // Unless it is configured as an extra issuer.
    let settings = ProviderSettings {
        extra_issuers: vec!["https://evil.example".into()],
        ..settings
    };
    let code = idp.sign_in("ann@example.com", true, &[]).await;
    provider(settings, idp.clock.clone())
        .exchange_code(&code, REDIRECT, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_provider_that_is_down_is_unreachable() {
    let port = dead_port().await;
    let settings = ProviderSettings {
        discovery_url: Some(format!(
            "http://127.0.0.1:{port}/.well-known/openid-configuration"
        )),
        ..ProviderSettings::google(CLIENT_ID, SECRET.into())
    };
    let provider = provider(
        settings,
        std::sync::Arc::new(latchkey_core::FakeClock::new(START)),
    );
    let error = provider
        .exchange_code("c", REDIRECT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Unreachable { provider, .. } if provider == "google"),
        "{error}"
    );
    assert!(!error.is_timeout());
}

#[tokio::test]
async fn a_failed_discovery_is_not_cached() {
    let port = dead_port().await;
    let settings = ProviderSettings {
        discovery_url: Some(format!(
            "http://127.0.0.1:{port}/.well-known/openid-configuration"
        )),
        ..ProviderSettings::google(CLIENT_ID, SECRET.into())
    };
    let clock = std::sync::Arc::new(latchkey_core::FakeClock::new(START));
    let provider = provider(settings, clock.clone());
    assert!(provider.endpoints().await.is_err());

    // The provider comes up on that port: the next call finds it.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let _idp = latchkey_dev_idp::spawn(DevIdpConfig::default(), listener, clock)
        .await
        .unwrap();
    let endpoints = provider.endpoints().await.unwrap();
    assert_eq!(
        endpoints.token_url,
        format!("http://127.0.0.1:{port}/token")
    );
}
