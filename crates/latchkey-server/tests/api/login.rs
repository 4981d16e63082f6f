//! Signing in: the code exchange exactly as the tutorial's client sends it.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{enc, json, payload, TestApp, CLIENT_ID, CLIENT_SECRET};

#[tokio::test]
async fn the_auth_next_code_exchange_signs_a_new_user_in() {
    let app = TestApp::spawn().await;
    let code = app.authorize("ann.lee@example.com", true, None).await;

    let response = app.post_token(TestApp::exchange_body(&code)).await;

    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(response, StatusCode::OK).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["user"]["username"], "ann.lee");
    assert_eq!(body["user"]["email"], "ann.lee@example.com");
    assert_eq!(body["user"]["first_name"], "Test");
    assert_eq!(body["user"]["last_name"], "Person");
    assert!(body["user"]["picture"]
        .as_str()
        .unwrap()
        .starts_with("http"));
    assert!(body.get("access").is_none(), "aliases only on refresh");
    let access = payload(body["access_token"].as_str().unwrap());
    let refresh = payload(body["refresh_token"].as_str().unwrap());
    assert_eq!(access["token_type"], "access");
    assert_eq!(refresh["token_type"], "refresh");
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(refresh["gen"], 1);
    assert_eq!(access["sid"], refresh["sid"]);
}

#[tokio::test]
async fn the_user_endpoint_returns_the_signed_in_user() {
    let app = TestApp::spawn().await;
    let tokens = app.login("bob@example.com").await;

    let response = app.get_user(&tokens.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();

    // The tutorial's key order, then `picture`.
    let positions: Vec<usize> = [
        "pk",
        "username",
        "email",
        "first_name",
        "last_name",
        "picture",
    ]
    .iter()
    .map(|k| text.find(&format!("\"{k}\":")).unwrap())
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 6);
    assert_eq!(body["email"], "bob@example.com");
    assert_eq!(body, tokens.body["user"]);
}

#[tokio::test]
async fn signing_in_again_finds_the_same_user_and_a_second_person_gets_another() {
    let app = TestApp::spawn().await;
    let first = app.login("carol@example.com").await;
    let again = app.login("carol@example.com").await;
    let other = app.login("carol@example.org").await;

    assert_eq!(first.body["user"]["pk"], again.body["user"]["pk"]);
    assert_ne!(first.body["user"]["pk"], other.body["user"]["pk"]);
    assert_eq!(other.body["user"]["username"], "carol2");
    assert_ne!(
        payload(&first.access)["sid"],
        payload(&again.access)["sid"],
        "one session per sign-in"
    );
}

#[tokio::test]
async fn a_json_body_and_an_explicit_grant_type_work_too() {
    let app = TestApp::spawn().await;
    let code = app.authorize("dan@example.com", true, None).await;

    let response = app
        .post_token_json(&json!({
            "code": code, "redirect_uri": "http://localhost:3000/login",
            "grant_type": "authorization_code", "client_id": CLIENT_ID,
        }))
        .await;

    let body = json(response, StatusCode::OK).await;
    assert_eq!(body["user"]["username"], "dan");
}

#[tokio::test]
async fn the_nuxt_alt_body_with_undefined_and_plus_spaces_works() {
    let app = TestApp::spawn().await;
    let code = app.authorize("erin@example.com", true, None).await;
    let body = format!(
        "code={}&client_id={CLIENT_ID}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin&response_type=code&audience=undefined&grant_type=undefined&code_verifier=undefined",
        enc(&code).replace("%20", "+")
    );

    let response = app.post_token(body).await;

    json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn a_stale_authorization_header_is_ignored() {
    let app = TestApp::spawn().await;
    let code = app.authorize("fay@example.com", true, None).await;

    let response = app
        .http
        .post(app.url("/social-login/google/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Bearer stale.garbage.token")
        .body(TestApp::exchange_body(&code))
        .send()
        .await
        .unwrap();

    json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn pkce_verifiers_are_forwarded_to_the_provider() {
    let app = TestApp::spawn().await;
    let verifier = "0123456789abcdef0123456789abcdef0123456789abcdef01234567";
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
    };
    let code = app
        .authorize("gus@example.com", true, Some((&challenge, "S256")))
        .await;
    let wrong = format!(
        "{}&code_verifier={}",
        TestApp::exchange_body(&code),
        "x".repeat(50)
    );
    let body = json(app.post_token(wrong).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["error"], "invalid_grant");

    let code = app
        .authorize("gus@example.com", true, Some((&challenge, "S256")))
        .await;
    let right = format!("{}&code_verifier={verifier}", TestApp::exchange_body(&code));
    json(app.post_token(right).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_code_works_once() {
    let app = TestApp::spawn().await;
    let code = app.authorize("hal@example.com", true, None).await;
    json(
        app.post_token(TestApp::exchange_body(&code)).await,
        StatusCode::OK,
    )
    .await;

    let body = json(
        app.post_token(TestApp::exchange_body(&code)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("google"));
}

/// A second provider (`second`) backed by the same dev identity provider: its identities are
/// `(second, sub)`, new to latchkey, with e-mails that may match existing users.
async fn app_with_a_second_provider() -> TestApp {
    TestApp::spawn_with(&[
        ("LATCHKEY_PROVIDERS__SECOND__CLIENT_ID", CLIENT_ID),
        ("LATCHKEY_PROVIDERS__SECOND__CLIENT_SECRET", CLIENT_SECRET),
        (
            "LATCHKEY_PROVIDERS__SECOND__DISCOVERY_URL",
            "{idp}/.well-known/openid-configuration",
        ),
        (
            "LATCHKEY_PROVIDERS__SECOND__ISSUER",
            "https://accounts.google.com",
        ),
    ])
    .await
}

async fn sign_in_with_second(app: &TestApp, email: &str, verified: bool) -> reqwest::Response {
    let code = app.authorize(email, verified, None).await;
    app.http
        .post(app.url("/social-login/second/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(TestApp::exchange_body(&code))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unverified_email_of_an_existing_user_is_not_linked() {
    let app = app_with_a_second_provider().await;
    let owner = app.login("ivy@example.com").await;

    let response = sign_in_with_second(&app, "IVY@example.com", false).await;

    let body = json(response, StatusCode::CONFLICT).await;
    assert_eq!(body["error"], "account_exists");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("e-mail"));
    let user = json(app.get_user(&owner.access).await, StatusCode::OK).await;
    assert_eq!(user["email"], "ivy@example.com");
    assert!(
        app.state.store().user(2).await.unwrap().is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn a_verified_email_links_the_new_identity_to_the_existing_user() {
    let app = app_with_a_second_provider().await;
    let owner = app.login("jo@example.com").await;

    let body = json(
        sign_in_with_second(&app, "jo@example.com", true).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(body["user"]["pk"], owner.body["user"]["pk"]);
}

#[tokio::test]
async fn an_inactive_user_gets_no_tokens() {
    let app = TestApp::spawn().await;
    let tokens = app.login("jay@example.com").await;
    let pk = tokens.body["user"]["pk"].as_i64().unwrap();
    app.state.store().set_user_active(pk, false).await.unwrap();

    let code = app.authorize("jay@example.com", true, None).await;
    let body = json(
        app.post_token(TestApp::exchange_body(&code)).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    assert_eq!(body["error"], "access_denied");
}
