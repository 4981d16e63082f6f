//! `/auth/user/`: reading and changing the user, and every way a bearer token can be bad.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{json, payload, TestApp};

#[tokio::test]
async fn patch_changes_the_editable_fields_and_ignores_the_rest() {
    let app = TestApp::spawn().await;
    let tokens = app.login("ann@example.com").await;

    let response = app
        .http
        .patch(app.url("/auth/user/"))
        .bearer_auth(&tokens.access)
        .json(&json!({"first_name": "Annie", "email": "evil@example.com", "pk": 99}))
        .send()
        .await
        .unwrap();

    let body = json(response, StatusCode::OK).await;
    assert_eq!(body["first_name"], "Annie");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["username"], "ann");
    let again = json(app.get_user(&tokens.access).await, StatusCode::OK).await;
    assert_eq!(again, body);
}

#[tokio::test]
async fn put_requires_a_username_and_usernames_are_unique() {
    let app = TestApp::spawn().await;
    let ann = app.login("ann@example.com").await;
    app.login("bob@example.com").await;

    let put = |body: serde_json::Value| {
        app.http
            .put(app.url("/auth/user"))
            .bearer_auth(&ann.access)
            .json(&body)
            .send()
    };
    let body = json(
        put(json!({"first_name": "A"})).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["username"], json!(["This field is required."]));
    assert_eq!(body["code"], "invalid");

    let body = json(
        put(json!({"username": "BOB"})).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        body["username"],
        json!(["A user with that username already exists."])
    );

    let body = json(
        put(json!({"username": "no spaces"})).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body["username"][0]
        .as_str()
        .unwrap()
        .contains("valid username"));

    let body = json(
        put(json!({"username": "x", "last_name": "y".repeat(151)}))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.get("last_name").is_some());

    let body = json(
        put(json!({"username": "annie", "last_name": ""}))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["username"], "annie");
    assert_eq!(body["last_name"], "");
}

#[tokio::test]
async fn a_malformed_update_body_is_a_clear_400() {
    let app = TestApp::spawn().await;
    let tokens = app.login("cat@example.com").await;
    for (content_type, body, status) in [
        ("application/json", "{", StatusCode::BAD_REQUEST),
        ("application/json", "[]", StatusCode::BAD_REQUEST),
        (
            "application/json",
            r#"{"username": 5}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "text/plain",
            "username=x",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let response = app
            .http
            .patch(app.url("/auth/user/"))
            .bearer_auth(&tokens.access)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let body = json(response, status).await;
        assert_eq!(body["code"], "parse_error");
    }
}

#[tokio::test]
async fn no_credentials_and_other_schemes_are_not_authenticated() {
    let app = TestApp::spawn().await;
    for header in [None, Some("Token abc"), Some("Basic Zm9vOmJhcg==")] {
        let mut request = app.http.get(app.url("/auth/user/"));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="api""#
        );
        let body = json(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["code"], "not_authenticated");
    }
}

#[tokio::test]
async fn a_malformed_bearer_header_is_refused() {
    let app = TestApp::spawn().await;
    for header in ["Bearer", "Bearer a b"] {
        let response = app
            .http
            .get(app.url("/auth/user/"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        let body = json(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["code"], "bad_authorization_header");
    }
}

#[tokio::test]
async fn forged_and_confused_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let tokens = app.login("dee@example.com").await;
    let claims = payload(&tokens.access);
    let body_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(tokens.access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let kid = header["kid"].as_str().unwrap();

    // alg: none
    let none = format!(
        "{}.{body_b64}.",
        URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#))
    );
    // HS256 keyed with the published public key (algorithm confusion)
    let jwks = app.jwks().await;
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.to_owned());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(x.as_bytes()),
    )
    .unwrap();
    // a tampered payload (someone else's user id) with the original signature
    let mut other = claims.clone();
    other["user_id"] = json!(999);
    other["sub"] = json!("999");
    let parts: Vec<&str> = tokens.access.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap()),
        parts[2]
    );

    for (what, token, detail) in [
        ("alg none", none.as_str(), "Token is invalid"),
        ("hs256 confusion", hs256.as_str(), "Token is invalid"),
        ("tampered", tampered.as_str(), "Token is invalid"),
        ("garbage", "not-a-jwt", "Token is invalid"),
        (
            "refresh as access",
            tokens.refresh.as_str(),
            "Token has wrong type",
        ),
    ] {
        let response = app.get_user(token).await;
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = json(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["detail"], detail, "{what}");
        assert_eq!(body["code"], "token_not_valid", "{what}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{what}: {challenge}"
        );
    }
}
