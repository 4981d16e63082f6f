//! A provider that is down, slow or answers garbage: a 502/504 naming the provider, and nothing
//! written.

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use reqwest::StatusCode;

use crate::helpers::{json, TestApp};

/// Serves `router` on a random port and returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// An address where nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

async fn exchange_with_token_url(
    token_url: &str,
    extra: &[(&str, &str)],
) -> (TestApp, reqwest::Response) {
    let mut env = vec![("LATCHKEY_PROVIDERS__GOOGLE__TOKEN_URL", token_url)];
    env.extend_from_slice(extra);
    let app = TestApp::spawn_with(&env).await;
    let code = app.authorize("ann@example.com", true, None).await;
    let response = app.post_token(TestApp::exchange_body(&code)).await;
    (app, response)
}

/// After a failed sign-in, the next good one creates the first user: nothing was written.
async fn assert_nothing_was_written(app: &TestApp) {
    assert!(app.state.store().user(1).await.unwrap().is_none());
}

#[tokio::test]
async fn a_provider_that_is_down_is_a_502_naming_it() {
    let url = format!("{}/token", closed_port().await);
    let (app, response) = exchange_with_token_url(&url, &[]).await;

    let body = json(response, StatusCode::BAD_GATEWAY).await;

    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("google"));
    assert_nothing_was_written(&app).await;
}

#[tokio::test]
async fn a_provider_answering_html_is_a_502() {
    let base = serve(Router::new().route(
        "/token",
        post(|| async { axum::response::Html("<html><body>Oops</body></html>") }),
    ))
    .await;
    let (app, response) = exchange_with_token_url(&format!("{base}/token"), &[]).await;

    json(response, StatusCode::BAD_GATEWAY).await;
    assert_nothing_was_written(&app).await;
}

#[tokio::test]
async fn a_provider_answering_a_broken_id_token_is_a_502() {
    let base = serve(Router::new().route(
        "/token",
        post(|| async {
            axum::Json(serde_json::json!({
                "access_token": "ya29.x", "token_type": "Bearer", "expires_in": 3599,
                "id_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."
            }))
        }),
    ))
    .await;
    let (app, response) = exchange_with_token_url(&format!("{base}/token"), &[]).await;

    json(response, StatusCode::BAD_GATEWAY).await;
    assert_nothing_was_written(&app).await;
}

#[tokio::test]
async fn a_slow_provider_is_a_504() {
    let base = serve(Router::new().route(
        "/token",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    ))
    .await;
    let (app, response) = exchange_with_token_url(
        &format!("{base}/token"),
        &[("LATCHKEY_PROVIDER_TIMEOUT", "300ms")],
    )
    .await;

    let body = json(response, StatusCode::GATEWAY_TIMEOUT).await;

    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("google"));
    assert_nothing_was_written(&app).await;
}

#[tokio::test]
async fn after_a_failure_a_good_sign_in_still_works() {
    let app = TestApp::spawn().await;
    let response = app
        .post_token(TestApp::exchange_body("not-a-real-code"))
        .await;
    json(response, StatusCode::BAD_REQUEST).await;

    let tokens = app.login("ann@example.com").await;

    assert_eq!(tokens.body["user"]["pk"], 1);
}
