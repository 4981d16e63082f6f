//! The authorization page, auto-approve and the discovery document.

use latchkey_dev_idp::DevIdpConfig;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn discovery_points_at_this_server_but_keeps_googles_issuer() {
    let idp = start().await;
    let doc: Value = idp
        .http
        .get(idp.handle.discovery_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base = idp.handle.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_ne!(idp.handle.addr().port(), 0);
    assert_eq!(doc["issuer"], "https://accounts.google.com");
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{base}/o/oauth2/v2/auth")
    );
    assert_eq!(doc["token_endpoint"], format!("{base}/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{base}/v1/userinfo"));
    assert_eq!(doc["jwks_uri"], format!("{base}/oauth2/v3/certs"));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["plain", "S256"])
    );
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
}

#[tokio::test]
async fn the_auth_next_query_string_renders_the_sign_in_page() {
    let idp = start().await;
    let response = idp
        .http
        .get(idp.url("/o/oauth2/auth?protocol=oauth2&response_type=code&access_type&client_id=latchkey-dev-client&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin&scope=openid%20profile%20email&state=q9iL1Knbqc&code_challenge_method="))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign in"));
    assert!(html.contains("name=\"email\""));
    assert!(html.contains("name=\"email_verified\" value=\"true\" checked"));
    let hidden = hidden_inputs(&html);
    assert!(hidden.contains(&("state".into(), "q9iL1Knbqc".into())));
    assert!(hidden.contains(&("redirect_uri".into(), REDIRECT.into())));
    assert!(!hidden.iter().any(|(k, _)| k == "code_challenge"));
}

#[tokio::test]
async fn bad_requests_get_an_html_400_saying_what_is_wrong() {
    let idp = start().await;
    for (query, says) in [
        (
            "response_type=code&client_id=nobody&redirect_uri=http://x/cb",
            "client was not found",
        ),
        (
            "response_type=code&client_id=latchkey-dev-client&redirect_uri=%2Flogin",
            "absolute",
        ),
        (
            "response_type=code&client_id=latchkey-dev-client",
            "redirect_uri",
        ),
        (
            "response_type=token&client_id=latchkey-dev-client&redirect_uri=http://x/cb",
            "response_type",
        ),
    ] {
        let response = idp.authorize(query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains(says), "{query}: {html}");
    }
}

#[tokio::test]
async fn everything_on_the_page_is_html_escaped() {
    let idp = start().await;
    let response = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb&state=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E&login_hint=%3Cb%3E@x")
        .await;
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("value=\"&lt;b&gt;@x\""));

    let error = idp
        .authorize("response_type=code&client_id=%3Cimg%20src%3Dx%3E&redirect_uri=http://x/cb")
        .await
        .text()
        .await
        .unwrap();
    assert!(!error.contains("<img"), "{error}");
}

#[tokio::test]
async fn the_login_hint_prefills_the_page() {
    let idp = start().await;
    let html = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb&login_hint=ann.lee@example.com")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in as ann.lee@example.com"));
    assert!(html.contains("value=\"ann.lee@example.com\""));
    assert!(html.contains("value=\"Ann Lee\""));
}

#[tokio::test]
async fn approving_redirects_with_code_and_state() {
    let idp = start().await;
    let html = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin&state=q9iL1Knbqc")
        .await
        .text()
        .await
        .unwrap();
    let mut form = hidden_inputs(&html);
    form.push(("email".into(), "ann@example.com".into()));
    let location = idp.approve(&form).await;
    assert!(
        location.starts_with("http://localhost:3000/login?code="),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some("q9iL1Knbqc")
    );
}

#[tokio::test]
async fn state_is_only_sent_back_when_given_and_cancel_denies() {
    let idp = start().await;
    let html = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb")
        .await
        .text()
        .await
        .unwrap();
    let mut form = hidden_inputs(&html);
    form.push(("email".into(), "ann@example.com".into()));
    let location = idp.approve(&form).await;
    assert!(query_param(&location, "code").is_some());
    assert!(!location.contains("state="), "{location}");

    form.push(("action".into(), "deny".into()));
    let location = idp.approve(&form).await;
    assert_eq!(location, "http://x/cb?error=access_denied");
}

#[tokio::test]
async fn an_empty_email_shows_the_page_again() {
    let idp = start().await;
    let html = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb")
        .await
        .text()
        .await
        .unwrap();
    let mut form = hidden_inputs(&html);
    form.push(("email".into(), "  ".into()));
    let response = idp
        .http
        .post(idp.url("/o/oauth2/approve"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Enter an e-mail address"));
}

#[tokio::test]
async fn login_hint_with_prompt_none_approves_at_once() {
    let idp = start().await;
    let response = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb&state=s1&login_hint=bob@example.com&prompt=none")
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = location(&response);
    assert!(query_param(&location, "code").is_some());
    assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
}

#[tokio::test]
async fn prompt_none_without_a_hint_answers_login_required() {
    let idp = start().await;
    let response = idp
        .authorize(
            "response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb&prompt=none",
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "http://x/cb?error=login_required");
}

#[tokio::test]
async fn auto_approve_needs_a_login_hint() {
    let idp = start_with(DevIdpConfig {
        auto_approve: true,
        ..DevIdpConfig::default()
    })
    .await;
    let with_hint = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb&login_hint=bob@example.com")
        .await;
    assert_eq!(with_hint.status(), StatusCode::FOUND);
    let without = idp
        .authorize("response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb")
        .await;
    assert_eq!(without.status(), StatusCode::OK);
}

#[test]
fn production_is_refused() {
    assert!(latchkey_dev_idp::refuse_in_production(Some("production")).is_err());
    assert!(latchkey_dev_idp::refuse_in_production(Some("development")).is_ok());
    assert!(latchkey_dev_idp::refuse_in_production(None).is_ok());
}
