//! Outbound HTTP: the client latchkey uses for providers ([`http_client`]), reading answers with
//! a size cap, and turning transport failures and statuses into [`ProviderError`]s.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Map, Value};

use crate::error::ProviderError;

/// Largest answer read from a provider.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// Longest provider-supplied text (error descriptions) copied into an error.
const MAX_TEXT: usize = 200;

/// An HTTP client for talking to providers: rustls, `timeout` for the whole exchange (connect
/// included), no redirects (a token endpoint that redirects must not receive the client secret
/// twice). Fails only if the TLS backend cannot initialise.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A provider's answer: its status and at most [`MAX_BODY`] bytes of body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// Who is being talked to, for errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer<'a> {
    pub(crate) provider: &'a str,
    pub(crate) what: &'static str,
}

impl Peer<'_> {
    pub(crate) fn bad(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::BadResponse {
            provider: self.provider.to_owned(),
            what: self.what,
            reason: reason.into(),
        }
    }

    fn unreachable(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Unreachable {
            provider: self.provider.to_owned(),
            what: self.what,
            reason: reason.into(),
        }
    }

    fn transport(&self, error: &reqwest::Error) -> ProviderError {
        if is_timeout(error) {
            ProviderError::Timeout {
                provider: self.provider.to_owned(),
                what: self.what,
            }
        } else {
            self.unreachable(describe(error))
        }
    }

    /// Sends `request` and reads the answer, at most [`MAX_BODY`] bytes.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Answer, ProviderError> {
        let mut response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(self.bad(format!("answer larger than {MAX_BODY} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(self.bad(format!("answer larger than {MAX_BODY} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
    }

    /// The answer's JSON object when the status is 2xx: 5xx is `Unreachable`, anything else or a
    /// body that is not a JSON object is `BadResponse`.
    pub(crate) fn ok_object(&self, answer: &Answer) -> Result<Map<String, Value>, ProviderError> {
        if answer.status.is_server_error() {
            return Err(self.unreachable(format!("HTTP {}", answer.status)));
        }
        if !answer.status.is_success() {
            return Err(self.bad(format!("unexpected HTTP {}", answer.status)));
        }
        json_object(&answer.body).map_err(|reason| self.bad(reason))
    }
}

/// Parses a JSON object, saying what was there instead.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("JSON, but not an object".to_owned()),
        Err(_) if looks_like_html(body) => Err("an HTML page, not JSON".to_owned()),
        Err(_) => Err("not JSON".to_owned()),
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&body[..body.len().min(100)]).to_ascii_lowercase();
    let start = start.trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html") || start.starts_with('<')
}

/// A provider-supplied string, shortened and stripped of control characters before it goes
/// into an error (and so into logs).
pub(crate) fn clip(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= MAX_TEXT {
        clean
    } else {
        let mut short: String = clean.chars().take(MAX_TEXT).collect();
        short.push('…');
        short
    }
}

fn is_timeout(error: &reqwest::Error) -> bool {
    if error.is_timeout() {
        return true;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        source = cause.source();
    }
    false
}

/// The error and its causes, e.g. `error sending request: client error (Connect): Connection refused`.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_object_explains_what_it_got() {
        assert!(json_object(br#"{"a":1}"#).is_ok());
        assert_eq!(
            json_object(b"<!DOCTYPE html><html>").unwrap_err(),
            "an HTML page, not JSON"
        );
        assert_eq!(json_object(b"[1]").unwrap_err(), "JSON, but not an object");
        assert_eq!(json_object(b"").unwrap_err(), "not JSON");
        assert_eq!(json_object(&[0xff, 0xfe]).unwrap_err(), "not JSON");
    }

    #[test]
    fn clip_bounds_and_cleans_provider_text() {
        assert_eq!(clip("a\nb"), "ab");
        assert_eq!(clip(&"x".repeat(500)).chars().count(), MAX_TEXT + 1);
    }

    #[test]
    fn the_client_builds() {
        assert!(http_client(Duration::from_secs(5)).is_ok());
    }
}
