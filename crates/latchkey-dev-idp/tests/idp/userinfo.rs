//! Userinfo by access token and the generated avatar.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn userinfo_answers_for_a_live_access_token_only() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    let (_, tokens) = idp.redeem(&code, &[]).await;
    let access_token = tokens["access_token"].as_str().unwrap();

    for path in ["/v1/userinfo", "/oauth2/v3/userinfo"] {
        let response = idp
            .http
            .get(idp.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let info: Value = response.json().await.unwrap();
        assert_eq!(info["email"], "ann@example.com");
        assert_eq!(info["email_verified"], true);
        assert_eq!(info["given_name"], "Ann");
        assert_eq!(info["sub"].as_str().unwrap().len(), 21);
    }

    let unknown = idp
        .http
        .get(idp.url("/v1/userinfo"))
        .bearer_auth("ya29.nope")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let body: Value = unknown.json().await.unwrap();
    assert!(body["error"].is_string());

    let absent = idp.http.get(idp.url("/v1/userinfo")).send().await.unwrap();
    assert_eq!(absent.status(), StatusCode::UNAUTHORIZED);

    idp.clock.advance(Duration::from_secs(3600));
    let expired = idp
        .http
        .get(idp.url("/v1/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_picture_is_an_svg_with_initials() {
    let idp = start().await;
    let code = idp.sign_in("ann@example.com", &[]).await;
    let (_, tokens) = idp.redeem(&code, &[]).await;
    let info: Value = idp
        .http
        .get(idp.url("/v1/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = idp
        .http
        .get(info["picture"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let svg = response.text().await.unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains(">AM</text>"), "{svg}");
}
