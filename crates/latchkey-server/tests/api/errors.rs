//! Bad input to the token endpoint and the router: always a clear JSON answer, never a 500.

use reqwest::StatusCode;

use crate::helpers::{json, TestApp};

async fn post_raw(app: &TestApp, content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut request = app.http.post(app.url("/social-login/google/")).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    request.send().await.unwrap()
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn token_endpoint_bad_bodies_get_rfc6749_errors() {
    let app = TestApp::spawn().await;
    let cases: Vec<(Option<&str>, &[u8], StatusCode, &str)> = vec![
        (FORM, b"", StatusCode::BAD_REQUEST, "invalid_request"),
        (None, b"", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            FORM,
            b"audience&grant_type",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (FORM, b"code=", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            FORM,
            b"grant_type=refresh_token",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            FORM,
            b"grant_type=authorization_code",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            FORM,
            b"grant_type=password&username=a&password=b",
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            FORM,
            b"code=a&code=b&redirect_uri=x",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            FORM,
            b"code=abc",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            FORM,
            b"\xff\xfe\x00code",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (JSON, b"{", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            JSON,
            b"\"code\"",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            JSON,
            br#"{"code": 12}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (JSON, b"", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            Some("text/plain"),
            b"code=abc",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
        ),
        (
            Some("multipart/form-data; boundary=x"),
            b"--x--",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
        ),
        (
            None,
            b"code=abc",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
        ),
    ];
    for (content_type, body, status, error) in cases {
        let response = post_raw(&app, content_type, body.to_vec()).await;
        let got = json(response, status).await;
        assert_eq!(
            got["error"],
            error,
            "{content_type:?} {:?}",
            String::from_utf8_lossy(body)
        );
        assert!(got["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    }
}

#[tokio::test]
async fn a_redirect_uri_off_the_allow_list_is_named_in_the_error() {
    let app = TestApp::spawn().await;
    let code = app.authorize("ann@example.com", true, None).await;
    let body = format!("code={code}&redirect_uri=https%3A%2F%2Fevil.example%2Flogin");

    let got = json(app.post_token(body).await, StatusCode::BAD_REQUEST).await;

    assert_eq!(got["error"], "invalid_request");
    assert!(got["error_description"]
        .as_str()
        .unwrap()
        .contains("https://evil.example/login"));
}

#[tokio::test]
async fn an_unknown_provider_is_404() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url("/social-login/myspace/"))
        .form(&[("code", "x")])
        .send()
        .await
        .unwrap();
    let got = json(response, StatusCode::NOT_FOUND).await;
    assert!(got["error_description"]
        .as_str()
        .unwrap()
        .contains("myspace"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn().await;
    let big = format!("code={}", "a".repeat(70 * 1024));
    let got = json(
        post_raw(&app, FORM, big.into_bytes()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(got["error"], "invalid_request");
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_answer_json() {
    let app = TestApp::spawn().await;
    let got = json(
        app.http
            .get(app.url("/social-login/google/"))
            .send()
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_eq!(got["detail"], "Method \"GET\" not allowed.");
    let got = json(
        app.http
            .delete(app.url("/auth/user/"))
            .send()
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_eq!(got["code"], "method_not_allowed");
    let got = json(
        app.http.get(app.url("/nope")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(got["code"], "not_found");
}
