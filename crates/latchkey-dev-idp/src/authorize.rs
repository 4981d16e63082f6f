//! The authorization endpoint: reads and checks an authorization request (tolerating the odd
//! parameters Nuxt auth-next sends), shows the sign-in page or approves at once, and on approval
//! issues a code and redirects back to the client.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::config::DevIdpConfig;
use crate::grants::{PendingCode, Pkce, PkceMethod};
use crate::page;
use crate::person::{name_from_email, Person};
use crate::server::DevIdp;

/// Where the sign-in page posts.
pub(crate) const APPROVE_PATH: &str = "/o/oauth2/approve";

/// Query or form parameters; the first value of a repeated key wins, a bare key (`access_type`)
/// counts as empty.
pub(crate) type Params = HashMap<String, String>;

pub(crate) fn parse_params(raw: &[u8]) -> Params {
    let mut params = Params::new();
    for (key, value) in form_urlencoded::parse(raw) {
        params.entry(key.into_owned()).or_insert(value.into_owned());
    }
    params
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: Url,
    pub(crate) scope: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) pkce: Option<Pkce>,
    pub(crate) login_hint: Option<String>,
    pub(crate) prompt: Option<String>,
}

impl AuthRequest {
    /// Checks the parameters; the error is a sentence for the error page.
    pub(crate) fn parse(params: &Params, config: &DevIdpConfig) -> Result<Self, String> {
        let get = |key: &str| params.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let client_id = get("client_id").ok_or("Missing required parameter: client_id")?;
        if client_id != config.client_id {
            return Err(format!(
                "The OAuth client was not found: client_id \"{client_id}\" is not \"{}\".",
                config.client_id
            ));
        }
        let raw_redirect = get("redirect_uri").ok_or("Missing required parameter: redirect_uri")?;
        let redirect_uri = parse_redirect_uri(raw_redirect)?;
        match get("response_type") {
            Some("code") => {}
            Some(other) => {
                return Err(format!(
                    "Unsupported response_type \"{other}\": this provider only does the authorization code flow (response_type=code)."
                ))
            }
            None => return Err("Missing required parameter: response_type".to_owned()),
        }
        let method = params.get("code_challenge_method").map(|m| m.trim());
        let pkce = match (get("code_challenge"), method) {
            (Some(challenge), method) => {
                let method = PkceMethod::parse(method.unwrap_or_default()).ok_or_else(|| {
                    format!(
                        "Unsupported code_challenge_method \"{}\": use S256 or plain.",
                        method.unwrap_or_default()
                    )
                })?;
                Some(Pkce {
                    method,
                    challenge: challenge.to_owned(),
                })
            }
            (None, None | Some("")) => None,
            (None, Some(method)) => {
                return Err(format!(
                    "code_challenge_method is \"{method}\" but code_challenge is missing."
                ))
            }
        };
        let owned = |key: &str| get(key).map(str::to_owned);
        Ok(Self {
            client_id: client_id.to_owned(),
            redirect_uri,
            scope: owned("scope").unwrap_or_else(|| "openid email profile".to_owned()),
            state: owned("state"),
            nonce: owned("nonce"),
            pkce,
            login_hint: owned("login_hint"),
            prompt: owned("prompt"),
        })
    }

    /// What the sign-in page carries in hidden inputs so that [`approve`] can rebuild the request.
    pub(crate) fn hidden_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.to_string()),
            ("scope", self.scope.clone()),
        ];
        let optional = [("state", &self.state), ("nonce", &self.nonce)];
        fields.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| Some((k, v.clone()?))),
        );
        if let Some(pkce) = &self.pkce {
            fields.push(("code_challenge", pkce.challenge.clone()));
            fields.push(("code_challenge_method", pkce.method.as_str().to_owned()));
        }
        fields
    }

    /// `redirect_uri` with `extra` and then `state` (if any) appended to its query.
    fn redirect_with(&self, extra: (&str, &str)) -> String {
        let mut url = self.redirect_uri.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair(extra.0, extra.1);
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        url.into()
    }
}

fn parse_redirect_uri(raw: &str) -> Result<Url, String> {
    let bad =
        || format!("redirect_uri must be an absolute http:// or https:// URL; got \"{raw}\".");
    let url = Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    if url.fragment().is_some() {
        return Err(format!(
            "redirect_uri must not contain a fragment (#…); got \"{raw}\"."
        ));
    }
    Ok(url)
}

/// `GET /o/oauth2/v2/auth` and `GET /o/oauth2/auth`.
pub(crate) async fn show(State(idp): State<DevIdp>, RawQuery(query): RawQuery) -> Response {
    let params = parse_params(query.unwrap_or_default().as_bytes());
    let request = match AuthRequest::parse(&params, &idp.0.config) {
        Ok(request) => request,
        Err(message) => return page::error(&message),
    };
    let wants_silent = request.prompt.as_deref() == Some("none");
    match request.login_hint.as_deref() {
        Some(hint) if (wants_silent || idp.0.config.auto_approve) && valid_email(hint) => {
            let person = Person {
                email: hint.to_owned(),
                name: name_from_email(hint),
                email_verified: true,
            };
            redirect(StatusCode::FOUND, &issue_code(&idp, &request, person))
        }
        _ if wants_silent => redirect(
            StatusCode::FOUND,
            &request.redirect_with(("error", "login_required")),
        ),
        hint => {
            let email = hint.unwrap_or_default();
            let name = name_from_email(email);
            page::sign_in(&request, email, &name, None)
        }
    }
}

/// `POST /o/oauth2/approve`: the sign-in page's form.
pub(crate) async fn approve(State(idp): State<DevIdp>, body: Bytes) -> Response {
    let params = parse_params(&body);
    let request = match AuthRequest::parse(&params, &idp.0.config) {
        Ok(request) => request,
        Err(message) => return page::error(&message),
    };
    if params.get("action").map(String::as_str) == Some("deny") {
        return redirect(
            StatusCode::SEE_OTHER,
            &request.redirect_with(("error", "access_denied")),
        );
    }
    let email = params.get("email").map(|e| e.trim()).unwrap_or_default();
    let name = params.get("name").map(|n| n.trim()).unwrap_or_default();
    if !valid_email(email) {
        return page::sign_in(&request, email, name, Some("Enter an e-mail address."));
    }
    let person = Person {
        email: email.to_owned(),
        name: if name.is_empty() {
            name_from_email(email)
        } else {
            name.to_owned()
        },
        email_verified: params.contains_key("email_verified"),
    };
    redirect(StatusCode::SEE_OTHER, &issue_code(&idp, &request, person))
}

/// Issues a code for `person` and returns the redirect URL that delivers it.
fn issue_code(idp: &DevIdp, request: &AuthRequest, person: Person) -> String {
    let now = idp.0.clock.now();
    let lifetime = i64::try_from(idp.0.config.code_lifetime.as_secs()).unwrap_or(i64::MAX);
    let pending = PendingCode {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.to_string(),
        nonce: request.nonce.clone(),
        pkce: request.pkce.clone(),
        person,
        expires_at: now.saturating_add(lifetime),
    };
    let code = idp.0.grants.issue_code(pending, now);
    request.redirect_with(("code", &code))
}

fn valid_email(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
}

fn redirect(status: StatusCode, location: &str) -> Response {
    (status, [(header::LOCATION, location.to_owned())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH_NEXT: &str = "protocol=oauth2&response_type=code&access_type&client_id=latchkey-dev-client&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin&scope=openid%20profile%20email&state=q9iL1Knbqc&code_challenge_method=";

    #[test]
    fn the_auth_next_query_is_accepted() {
        let params = parse_params(AUTH_NEXT.as_bytes());
        let request = AuthRequest::parse(&params, &DevIdpConfig::default()).unwrap();
        assert_eq!(request.redirect_uri.as_str(), "http://localhost:3000/login");
        assert_eq!(request.state.as_deref(), Some("q9iL1Knbqc"));
        assert_eq!(request.scope, "openid profile email");
        assert!(request.pkce.is_none());
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let config = DevIdpConfig::default();
        let check = |query: &str| AuthRequest::parse(&parse_params(query.as_bytes()), &config);
        let ok = "response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb";
        assert!(check(ok).is_ok());
        assert!(
            check("response_type=code&client_id=nope&redirect_uri=http://x/cb")
                .unwrap_err()
                .contains("client was not found")
        );
        assert!(check(&format!("{ok}/../#frag"))
            .unwrap_err()
            .contains("fragment"));
        assert!(
            check("response_type=code&client_id=latchkey-dev-client&redirect_uri=/login")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(check(
            "response_type=code&client_id=latchkey-dev-client&redirect_uri=javascript:alert(1)"
        )
        .unwrap_err()
        .contains("absolute"));
        assert!(check(
            "response_type=token&client_id=latchkey-dev-client&redirect_uri=http://x/cb"
        )
        .unwrap_err()
        .contains("response_type"));
        assert!(check(&format!(
            "{ok}&code_challenge=abc&code_challenge_method=implicit"
        ))
        .unwrap_err()
        .contains("implicit"));
        assert!(check(&format!("{ok}&code_challenge_method=S256"))
            .unwrap_err()
            .contains("code_challenge is missing"));
    }

    #[test]
    fn redirect_keeps_existing_query_and_adds_state_only_if_given() {
        let config = DevIdpConfig::default();
        let params = parse_params(
            b"response_type=code&client_id=latchkey-dev-client&redirect_uri=http://x/cb%3Fa%3D1",
        );
        let mut request = AuthRequest::parse(&params, &config).unwrap();
        assert_eq!(
            request.redirect_with(("code", "4/0A b")),
            "http://x/cb?a=1&code=4%2F0A+b"
        );
        request.state = Some("s&t".into());
        assert_eq!(
            request.redirect_with(("code", "c")),
            "http://x/cb?a=1&code=c&state=s%26t"
        );
    }

    #[test]
    fn emails_need_an_at_sign() {
        assert!(valid_email("a@b"));
        assert!(!valid_email("ab"));
        assert!(!valid_email("a b@c"));
        assert!(!valid_email("@c"));
    }
}
