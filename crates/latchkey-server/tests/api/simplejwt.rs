//! SimpleJWT's `/auth/token/refresh/` and `/auth/token/verify/`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{json, TestApp};

#[tokio::test]
async fn refresh_rotates_in_the_simplejwt_shape() {
    let app = TestApp::spawn().await;
    let tokens = app.login("ann@example.com").await;
    let post = |body: serde_json::Value| {
        app.http
            .post(app.url("/auth/token/refresh/"))
            .json(&body)
            .send()
    };

    let body = json(
        post(json!({"refresh": tokens.refresh})).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(body["access"].is_string() && body["refresh"].is_string());
    json(
        app.get_user(body["access"].as_str().unwrap()).await,
        StatusCode::OK,
    )
    .await;

    let body = json(post(json!({})).await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(body["refresh"], json!(["This field is required."]));
    let body = json(
        post(json!({"refresh": "junk"})).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(body["code"], "token_not_valid");
}

#[tokio::test]
async fn verify_accepts_live_tokens_of_either_type() {
    let app = TestApp::spawn().await;
    let tokens = app.login("bo@example.com").await;
    let verify = |token: &str| {
        app.http
            .post(app.url("/auth/token/verify"))
            .json(&json!({ "token": token }))
            .send()
    };

    assert_eq!(
        json(verify(&tokens.access).await.unwrap(), StatusCode::OK).await,
        json!({})
    );
    json(verify(&tokens.refresh).await.unwrap(), StatusCode::OK).await;
    let body = json(verify("junk").await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["code"], "token_not_valid");

    // Tokens verified before (and so remembered) still answer for their session.
    let other_device = app.login("bo@example.com").await;
    json(verify(&other_device.access).await.unwrap(), StatusCode::OK).await;
    json(app.logout(&other_device.refresh).await, StatusCode::OK).await;
    for token in [&other_device.access, &other_device.refresh] {
        let body = json(verify(token).await.unwrap(), StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["detail"], "Token's session has ended");
    }

    app.advance(301);
    let body = json(
        verify(&tokens.access).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(body["detail"], "Token is expired");
}
