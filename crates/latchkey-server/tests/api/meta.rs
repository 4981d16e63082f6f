//! JWKS, issuer metadata, health.

use reqwest::StatusCode;

use crate::helpers::{json, TestApp};

#[tokio::test]
async fn the_jwks_publishes_the_key_that_signs_tokens() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let tokens = app.login("ann@example.com").await;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(tokens.access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();

    let jwks = app.jwks().await;

    assert_eq!(header["alg"], "EdDSA");
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], header["kid"]);
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    // Any service can verify with it offline.
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["latchkey"]);
    validation.set_issuer(&["http://localhost:8000"]);
    jsonwebtoken::decode::<serde_json::Value>(&tokens.access, &decoding, &validation).unwrap();
}

#[tokio::test]
async fn health_readiness_and_metadata_answer() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.http.get(app.url(path)).send();
    assert_eq!(
        json(get("/healthz").await.unwrap(), StatusCode::OK).await["status"],
        "ok"
    );
    assert_eq!(
        json(get("/readyz").await.unwrap(), StatusCode::OK).await["status"],
        "ready"
    );
    let meta = json(
        get("/.well-known/openid-configuration").await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(meta["issuer"], "http://localhost:8000");
    assert_eq!(
        meta["jwks_uri"],
        "http://localhost:8000/.well-known/jwks.json"
    );
}
