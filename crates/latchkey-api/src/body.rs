//! Reading request bodies the way real clients send them.
//!
//! The token endpoint takes `application/x-www-form-urlencoded` (Nuxt auth-next, nuxt-alt) and
//! `application/json` (sidebase). Form bodies may carry bare keys (`audience&grant_type`), `+` or
//! `%20` for spaces, and the string `undefined` for unset options (nuxt-alt); all of those, and
//! empty values, count as absent.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::Value;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("The request body is larger than {0} bytes.")]
    TooLarge(usize),
    #[error("The request body could not be read.")]
    Unreadable,
    #[error("Content-Type {0:?} is not supported; send application/x-www-form-urlencoded or application/json.")]
    UnsupportedType(String),
    #[error("The body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("The JSON body must be an object.")]
    NotAnObject,
    #[error("The field {0:?} must be a string.")]
    NotAString(String),
    #[error("The parameter {0:?} appears more than once.")]
    Duplicate(String),
}

impl BodyError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn from_rejection(rejection: &BytesRejection, limit: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::TooLarge(limit)
        } else {
            Self::Unreadable
        }
    }
}

/// The kinds of body latchkey reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Form,
    Json,
    /// No body and no content type: a body-less POST.
    Empty,
}

fn kind(headers: &HeaderMap, body: &[u8]) -> Result<Kind, BodyError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return if body.iter().all(u8::is_ascii_whitespace) {
            Ok(Kind::Empty)
        } else {
            Err(BodyError::UnsupportedType(String::new()))
        };
    };
    let raw = value.to_str().unwrap_or_default();
    let essence = raw.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(Kind::Form)
    } else if essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
    {
        Ok(Kind::Json)
    } else {
        Err(BodyError::UnsupportedType(raw.chars().take(100).collect()))
    }
}

/// Flat string parameters from a form or JSON body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    /// JSON members whose value is neither a string nor null. Ignored unless a caller reads
    /// them: then [`Params::require_strings`] refuses the body.
    not_strings: Vec<String>,
}

impl Params {
    pub(crate) fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Self, BodyError> {
        match kind(headers, body)? {
            Kind::Empty => Ok(Self::default()),
            Kind::Form => Self::from_form(body),
            Kind::Json => Self::from_json(body),
        }
    }

    fn from_form(body: &[u8]) -> Result<Self, BodyError> {
        let mut values = HashMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            if values.insert(key.to_string(), value.into_owned()).is_some() {
                return Err(BodyError::Duplicate(key.chars().take(100).collect()));
            }
        }
        Ok(Self {
            values,
            not_strings: Vec::new(),
        })
    }

    fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        let Value::Object(object) = json_object(body)? else {
            return Err(BodyError::NotAnObject);
        };
        let mut params = Self::default();
        for (key, value) in object {
            match value {
                Value::String(s) => {
                    params.values.insert(key, s);
                }
                Value::Null => {}
                _ => params.not_strings.push(key),
            }
        }
        Ok(params)
    }

    /// Refuses the body if any of `keys` was sent with a value that is not a string.
    pub(crate) fn require_strings(&self, keys: &[&str]) -> Result<(), BodyError> {
        match keys
            .iter()
            .find(|k| self.not_strings.iter().any(|n| n == *k))
        {
            Some(key) => Err(BodyError::NotAString((*key).to_owned())),
            None => Ok(()),
        }
    }

    /// The value of `key`, or `None` when it is absent, empty or the string `undefined`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty() && *v != "undefined")
    }

    /// The value of `key` as sent, empty strings included.
    pub(crate) fn raw(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The first of `keys` that has a value.
    pub(crate) fn first_of(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|key| self.get(key))
    }
}

/// Parses a JSON body (for endpoints that take only JSON objects, or forms via [`Params`]).
pub(crate) fn json_object(body: &[u8]) -> Result<Value, BodyError> {
    serde_json::from_slice::<Value>(body).map_err(|e| BodyError::MalformedJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        h
    }

    const FORM: &str = "application/x-www-form-urlencoded";

    #[test]
    fn auth_next_code_exchange_with_bare_keys() {
        let body = Bytes::from_static(b"code=4%2F0AX%20abc&client_id=cid&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin&response_type=code&audience&grant_type");
        let p = Params::parse(&headers(FORM), &body).unwrap();
        assert_eq!(p.get("code"), Some("4/0AX abc"));
        assert_eq!(p.get("redirect_uri"), Some("http://localhost:3000/login"));
        assert_eq!(p.get("grant_type"), None);
        assert_eq!(p.get("audience"), None);
    }

    #[test]
    fn nuxt_alt_undefined_and_plus_spaces() {
        let body = Bytes::from_static(
            b"code=a+b&audience=undefined&grant_type=undefined&code_verifier=undefined",
        );
        let p = Params::parse(
            &headers("application/x-www-form-urlencoded;charset=UTF-8"),
            &body,
        )
        .unwrap();
        assert_eq!(p.get("code"), Some("a b"));
        assert_eq!(p.get("grant_type"), None);
        assert_eq!(p.get("code_verifier"), None);
    }

    #[test]
    fn json_bodies_are_read_and_must_hold_strings() {
        let p = Params::parse(
            &headers("application/json"),
            &Bytes::from_static(br#"{"refreshToken":"t","x":null}"#),
        )
        .unwrap();
        assert_eq!(p.first_of(&["refresh_token", "refreshToken"]), Some("t"));
        let p = Params::parse(
            &headers("application/json"),
            &Bytes::from_static(br#"{"code":1,"pk":2}"#),
        )
        .unwrap();
        assert_eq!(
            p.require_strings(&["code"]),
            Err(BodyError::NotAString("code".into()))
        );
        assert_eq!(p.require_strings(&["username"]), Ok(()));
        assert_eq!(
            Params::parse(&headers("application/json"), &Bytes::from_static(b"[1]")),
            Err(BodyError::NotAnObject)
        );
        assert!(matches!(
            Params::parse(&headers("application/json"), &Bytes::from_static(b"{")),
            Err(BodyError::MalformedJson(_))
        ));
    }

    #[test]
    fn other_content_types_are_refused() {
        let err =
            Params::parse(&headers("text/plain"), &Bytes::from_static(b"code=x")).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let err = Params::parse(&HeaderMap::new(), &Bytes::from_static(b"code=x")).unwrap_err();
        assert!(matches!(err, BodyError::UnsupportedType(_)));
    }

    #[test]
    fn an_empty_body_without_content_type_is_empty() {
        let p = Params::parse(&HeaderMap::new(), &Bytes::new()).unwrap();
        assert_eq!(p, Params::default());
    }

    #[test]
    fn duplicates_are_refused() {
        assert_eq!(
            Params::parse(&headers(FORM), &Bytes::from_static(b"code=a&code=b")),
            Err(BodyError::Duplicate("code".into()))
        );
    }
}
