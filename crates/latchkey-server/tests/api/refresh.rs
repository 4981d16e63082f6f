//! Expiry by the fake clock, refresh as Nuxt Auth sends it, rotation, the grace window for
//! parallel refreshes, and reuse detection.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{json, payload, TestApp, Tokens};

#[tokio::test]
async fn an_access_token_expires_and_a_refresh_brings_a_new_pair() {
    let app = TestApp::spawn().await;
    let tokens = app.login("ann@example.com").await;
    app.advance(301);

    let body = json(app.get_user(&tokens.access).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["code"], "token_not_valid");
    assert_eq!(body["detail"], "Token is expired");

    let response = app.refresh(&tokens.refresh).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(response, StatusCode::OK).await;
    let fresh = Tokens::from_body(body.clone());
    assert_eq!(body["access"], body["access_token"], "the tutorial's alias");
    assert_eq!(body["refresh"], body["refresh_token"]);
    assert_eq!(body["user"]["email"], "ann@example.com");
    assert_ne!(fresh.refresh, tokens.refresh, "rotated");
    assert_eq!(payload(&fresh.refresh)["gen"], 2);
    json(app.get_user(&fresh.access).await, StatusCode::OK).await;
}

#[tokio::test]
async fn eight_parallel_refreshes_with_one_token_all_succeed() {
    let app = TestApp::spawn().await;
    let tokens = app.login("bo@example.com").await;
    app.advance(301);

    let answers = futures::future::join_all((0..8).map(|_| app.refresh(&tokens.refresh))).await;

    let mut refresh_tokens = Vec::new();
    for response in answers {
        let body = json(response, StatusCode::OK).await;
        refresh_tokens.push(body["refresh_token"].as_str().unwrap().to_owned());
        json(
            app.get_user(body["access_token"].as_str().unwrap()).await,
            StatusCode::OK,
        )
        .await;
    }
    refresh_tokens.dedup();
    assert_eq!(
        refresh_tokens.len(),
        1,
        "every racer gets the same successor"
    );
    assert_eq!(payload(&refresh_tokens[0])["gen"], 2);
    // And the successor goes on working.
    json(app.refresh(&refresh_tokens[0]).await, StatusCode::OK).await;
}

#[tokio::test]
async fn the_previous_token_within_the_grace_window_returns_the_same_successor() {
    let app = TestApp::spawn().await;
    let tokens = app.login("cy@example.com").await;
    let first = Tokens::from_body(json(app.refresh(&tokens.refresh).await, StatusCode::OK).await);
    app.advance(9);

    let again = Tokens::from_body(json(app.refresh(&tokens.refresh).await, StatusCode::OK).await);

    assert_eq!(again.refresh, first.refresh);
}

#[tokio::test]
async fn reusing_a_rotated_token_after_the_window_revokes_the_session() {
    let app = TestApp::spawn().await;
    let tokens = app.login("di@example.com").await;
    let next = Tokens::from_body(json(app.refresh(&tokens.refresh).await, StatusCode::OK).await);
    app.advance(11);

    let body = json(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));

    // Every token of the session is dead now: the legitimate successor too.
    let body = json(app.refresh(&next.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["error_description"], "Session has been revoked");
    let body = json(app.get_user(&next.access).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["detail"], "Token's session has ended");
}

#[tokio::test]
async fn an_older_generation_is_reuse_even_inside_the_window() {
    let app = TestApp::spawn().await;
    let gen1 = app.login("ed@example.com").await;
    let gen2 = Tokens::from_body(json(app.refresh(&gen1.refresh).await, StatusCode::OK).await);
    let gen3 = Tokens::from_body(json(app.refresh(&gen2.refresh).await, StatusCode::OK).await);

    json(app.refresh(&gen1.refresh).await, StatusCode::UNAUTHORIZED).await;

    json(app.refresh(&gen3.refresh).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn other_sessions_of_the_user_survive_a_reuse_in_one() {
    let app = TestApp::spawn().await;
    let laptop = app.login("flo@example.com").await;
    let phone = app.login("flo@example.com").await;
    json(app.refresh(&laptop.refresh).await, StatusCode::OK).await;
    app.advance(11);
    json(app.refresh(&laptop.refresh).await, StatusCode::UNAUTHORIZED).await;

    json(app.refresh(&phone.refresh).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_refresh_token_expires_after_its_lifetime() {
    let app = TestApp::spawn().await;
    let tokens = app.login("gil@example.com").await;
    app.advance(30 * 86_400);

    let body = json(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;

    assert_eq!(body["error_description"], "Token is expired");
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let app = TestApp::spawn().await;
    let tokens = app.login("hu@example.com").await;

    let body = json(app.refresh(&tokens.access).await, StatusCode::UNAUTHORIZED).await;

    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Token has wrong type");
}

#[tokio::test]
async fn refresh_checks_the_user_is_still_active_and_exists() {
    let app = TestApp::spawn().await;
    let tokens = app.login("io@example.com").await;
    let pk = tokens.body["user"]["pk"].as_i64().unwrap();
    app.state.store().set_user_active(pk, false).await.unwrap();
    let body = json(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["error_description"], "User is inactive");
    let body = json(app.get_user(&tokens.access).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["code"], "user_inactive");

    app.state.store().delete_user(pk).await.unwrap();
    json(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    let body = json(app.get_user(&tokens.access).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["code"], "user_not_found");
}

#[tokio::test]
async fn json_and_alias_refresh_bodies_work() {
    let app = TestApp::spawn().await;
    let tokens = app.login("jo@example.com").await;

    // sidebase: JSON, `refreshToken`, an expired bearer header that must be ignored.
    let response = app
        .http
        .post(app.url("/social-login/google"))
        .header("authorization", format!("Bearer {}", tokens.access))
        .json(&json!({ "refreshToken": tokens.refresh }))
        .send()
        .await
        .unwrap();
    let body = json(response, StatusCode::OK).await;

    // nuxt-alt: singular `scope`, `redirect_uri`, `+` spaces.
    let next = body["refresh_token"].as_str().unwrap();
    let form = format!(
        "refresh_token={next}&scope=openid+profile+email&client_id=x&grant_type=refresh_token&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin"
    );
    json(app.post_token(form).await, StatusCode::OK).await;
}

#[tokio::test]
async fn garbage_and_forged_refresh_tokens_are_invalid_grants() {
    let app = TestApp::spawn().await;
    let tokens = app.login("kai@example.com").await;
    let mut forged: Vec<&str> = tokens.refresh.split('.').collect();
    let other = app.login("kai2@example.com").await;
    let other_sig = other.refresh.split('.').nth(2).unwrap();
    forged[2] = other_sig;

    for bad in ["garbage", "a.b.c", &forged.join(".")] {
        let body = json(app.refresh(bad).await, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_description"], "Token is invalid");
    }
}
