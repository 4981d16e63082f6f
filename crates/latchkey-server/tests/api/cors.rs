//! CORS: only the allow-listed origins, exact origin echoed with credentials.

use reqwest::StatusCode;

use crate::helpers::{TestApp, ORIGIN};

#[tokio::test]
async fn a_preflight_from_the_allowed_origin_is_answered() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/auth/user/"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    assert_eq!(h["access-control-allow-credentials"], "true");
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["authorization", "content-type", "accept"] {
        assert!(headers.contains(name), "{headers}");
    }
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    let app = TestApp::spawn().await;
    for method in [reqwest::Method::OPTIONS, reqwest::Method::GET] {
        let response = app
            .http
            .request(method, app.url("/auth/user/"))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    }
}

#[tokio::test]
async fn simple_requests_from_the_allowed_origin_get_the_origin_echoed() {
    let app = TestApp::spawn().await;
    let tokens = app.login("ann@example.com").await;
    let response = app
        .http
        .get(app.url("/auth/user/"))
        .header("origin", ORIGIN)
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    assert!(response.headers()["vary"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("origin"));
}
