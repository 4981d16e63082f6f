//! `/auth/sessions/`: a user sees their devices and ends one.

use reqwest::StatusCode;

use crate::helpers::{json, payload, TestApp};

#[tokio::test]
async fn a_user_lists_their_sessions_and_ends_one() {
    let app = TestApp::spawn().await;
    let laptop = app.login("ann@example.com").await;
    let phone = app.login("ann@example.com").await;
    let stranger = app.login("bob@example.com").await;

    let list = json(
        app.http
            .get(app.url("/auth/sessions/"))
            .bearer_auth(&laptop.access)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let sessions = list.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let laptop_sid = payload(&laptop.access)["sid"].clone();
    let phone_sid = payload(&phone.access)["sid"].as_str().unwrap().to_owned();
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], laptop_sid);
    assert_eq!(current[0]["ip"], "127.0.0.1");

    // Someone else cannot end Ann's session: it looks unknown.
    let response = app
        .http
        .delete(app.url(&format!("/auth/sessions/{phone_sid}/")))
        .bearer_auth(&stranger.access)
        .send()
        .await
        .unwrap();
    json(response, StatusCode::NOT_FOUND).await;
    json(app.refresh(&phone.refresh).await, StatusCode::OK).await;

    // Ann ends her phone's session from the laptop.
    let response = app
        .http
        .delete(app.url(&format!("/auth/sessions/{phone_sid}")))
        .bearer_auth(&laptop.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    json(app.get_user(&phone.access).await, StatusCode::UNAUTHORIZED).await;
    json(app.get_user(&laptop.access).await, StatusCode::OK).await;
    let list = json(
        app.http
            .get(app.url("/auth/sessions"))
            .bearer_auth(&laptop.access)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}
