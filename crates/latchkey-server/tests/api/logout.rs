//! Logout really revokes.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{json, TestApp};

#[tokio::test]
async fn logout_with_the_refresh_token_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let tokens = app.login("ann@example.com").await;
    let other_device = app.login("ann@example.com").await;

    let body = json(app.logout(&tokens.refresh).await, StatusCode::OK).await;
    assert_eq!(body["revoked"], 1);

    let body = json(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["error_description"], "Session has been revoked");
    json(app.get_user(&tokens.access).await, StatusCode::UNAUTHORIZED).await;
    // The other device is untouched.
    json(app.get_user(&other_device.access).await, StatusCode::OK).await;
}

#[tokio::test]
async fn global_logout_with_the_bearer_token_ends_every_session() {
    let app = TestApp::spawn().await;
    let laptop = app.login("bo@example.com").await;
    let phone = app.login("bo@example.com").await;

    let response = app
        .http
        .post(app.url("/auth/logout"))
        .bearer_auth(&laptop.access)
        .form(&[("scope", "global")])
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, StatusCode::OK).await["revoked"], 2);

    json(app.refresh(&phone.refresh).await, StatusCode::UNAUTHORIZED).await;
    json(app.refresh(&laptop.refresh).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn logout_needs_a_valid_token_and_a_known_scope() {
    let app = TestApp::spawn().await;
    let tokens = app.login("cy@example.com").await;
    let post = |body: serde_json::Value| app.http.post(app.url("/auth/logout/")).json(&body).send();

    let body = json(post(json!({})).await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["code"], "not_authenticated");
    let body = json(
        post(json!({"refresh": "junk"})).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(body["code"], "token_not_valid");
    let body = json(
        post(json!({"refresh": tokens.refresh, "scope": "universe"}))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.get("scope").is_some());
    json(app.refresh(&tokens.refresh).await, StatusCode::OK).await;
}
