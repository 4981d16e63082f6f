//! The tutorial's whole scenario, in order, as the Nuxt app drives it: sign in, fetch the user,
//! let the access token expire, refresh (eight at once, as auth-next does), keep going, log out,
//! and a second person signs in.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{json, TestApp, Tokens, ORIGIN};

#[tokio::test]
async fn the_tutorial_scenario_from_sign_in_to_logout() {
    let app = TestApp::spawn().await;

    // Sign in (code exchange, auth-next body) and load /protected (GET /auth/user/).
    let tokens = app.login("john.doe@gmail.com").await;
    let user = json(app.get_user(&tokens.access).await, StatusCode::OK).await;
    assert_eq!(user["username"], "john.doe");

    // Five minutes later the access token is expired; a page load fires several API calls,
    // each preceded by a refresh with the same refresh token.
    app.advance(5 * 60 + 1);
    json(app.get_user(&tokens.access).await, StatusCode::UNAUTHORIZED).await;
    let answers = futures::future::join_all((0..8).map(|_| app.refresh(&tokens.refresh))).await;
    let mut refreshed = Vec::new();
    for answer in answers {
        refreshed.push(Tokens::from_body(json(answer, StatusCode::OK).await));
    }
    for t in &refreshed {
        assert_eq!(
            json(app.get_user(&t.access).await, StatusCode::OK).await,
            user
        );
    }

    // The next expiry refreshes from the newest refresh token, and so on.
    app.advance(5 * 60 + 1);
    let next =
        Tokens::from_body(json(app.refresh(&refreshed[0].refresh).await, StatusCode::OK).await);
    json(app.get_user(&next.access).await, StatusCode::OK).await;

    // A thief replaying the first refresh token now ends the session for everyone holding it.
    json(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    json(app.get_user(&next.access).await, StatusCode::UNAUTHORIZED).await;

    // Sign in again; log out; the tokens stop working at once.
    let again = app.login("john.doe@gmail.com").await;
    assert_eq!(again.body["user"]["pk"], user["pk"]);
    let response = app
        .http
        .post(app.url("/auth/logout/"))
        .header("origin", ORIGIN)
        .json(&json!({ "refresh": again.refresh }))
        .send()
        .await
        .unwrap();
    json(response, StatusCode::OK).await;
    json(app.refresh(&again.refresh).await, StatusCode::UNAUTHORIZED).await;

    // A second person gets a second user.
    let jane = app.login("jane@example.com").await;
    assert_ne!(jane.body["user"]["pk"], user["pk"]);
}

#[tokio::test]
async fn server_side_rendering_calls_work_without_an_origin() {
    // Under SSR the Nuxt server calls the API with the browser's forwarded headers (cookies
    // included), no Origin, and gzip/deflate accepted.
    let app = TestApp::spawn().await;
    let tokens = app.login("ssr@example.com").await;
    let cookie = format!(
        "auth.strategy=google; auth._token.google=Bearer%20{}; auth._refresh_token.google={}",
        tokens.access, tokens.refresh
    );

    let response = app
        .http
        .get(app.url("/auth/user/"))
        .header("authorization", format!("Bearer {}", tokens.access))
        .header("cookie", &cookie)
        .header("accept-encoding", "gzip, deflate")
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    json(response, StatusCode::OK).await;

    let response = app
        .http
        .post(app.url("/social-login/google/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .header("accept-encoding", "gzip, deflate")
        .body(TestApp::refresh_body(&tokens.refresh))
        .send()
        .await
        .unwrap();
    json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn tokens_stay_small_enough_for_cookies() {
    let app = TestApp::spawn().await;
    let tokens = app
        .login("a.rather.long.address.for.testing@example.com")
        .await;
    // auth-next stores `Bearer%20<token>` in a cookie; browsers cap a cookie near 4 KB.
    assert!(tokens.access.len() < 700, "{}", tokens.access.len());
    assert!(tokens.refresh.len() < 700, "{}", tokens.refresh.len());
}
