//! What the dev identity provider remembers between requests, in memory: authorization codes
//! (single use, expiring), access tokens (for userinfo) and the people who signed in (for their
//! avatars). Expiry is judged with the `now` the caller reads from the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latchkey_core::UnixTime;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::person::Person;

/// A PKCE code challenge from the authorization request (RFC 7636).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pkce {
    pub(crate) method: PkceMethod,
    pub(crate) challenge: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkceMethod {
    Plain,
    S256,
}

impl PkceMethod {
    /// Parses `code_challenge_method`; empty means `plain`, the RFC 7636 default.
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        match raw {
            "" | "plain" => Some(Self::Plain),
            "S256" => Some(Self::S256),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::S256 => "S256",
        }
    }
}

impl Pkce {
    /// Whether `verifier` answers the challenge, compared in constant time.
    pub(crate) fn accepts(&self, verifier: &str) -> bool {
        let expected = match self.method {
            PkceMethod::Plain => verifier.to_owned(),
            PkceMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        };
        expected.as_bytes().ct_eq(self.challenge.as_bytes()).into()
    }
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct PendingCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) nonce: Option<String>,
    pub(crate) pkce: Option<Pkce>,
    pub(crate) person: Person,
    pub(crate) expires_at: UnixTime,
}

#[derive(Debug)]
struct AccessToken {
    person: Person,
    expires_at: UnixTime,
}

/// Codes, access tokens and people, each behind its own lock.
#[derive(Debug, Default)]
pub(crate) struct Grants {
    codes: Mutex<HashMap<String, PendingCode>>,
    access_tokens: Mutex<HashMap<String, AccessToken>>,
    people: Mutex<HashMap<String, Person>>,
}

impl Grants {
    /// Stores `pending` under a fresh code shaped like Google's (`4/0A…`) and returns the code.
    pub(crate) fn issue_code(&self, pending: PendingCode, now: UnixTime) -> String {
        self.remember(&pending.person);
        let code = format!("4/0A{}", random_token());
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.retain(|_, c| c.expires_at > now);
        codes.insert(code.clone(), pending);
        code
    }

    /// Removes and returns the code's grant: a code is gone after its first use, whatever the
    /// outcome of that use.
    pub(crate) fn take_code(&self, code: &str) -> Option<PendingCode> {
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.remove(code)
    }

    /// Stores a fresh `ya29.` access token for `person`.
    pub(crate) fn issue_access_token(
        &self,
        person: Person,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> String {
        let token = format!("ya29.{}", random_token());
        let mut tokens = self.access_tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, t| t.expires_at > now);
        tokens.insert(token.clone(), AccessToken { person, expires_at });
        token
    }

    /// The person an unexpired access token was issued to.
    pub(crate) fn person_for_access_token(&self, token: &str, now: UnixTime) -> Option<Person> {
        let tokens = self.access_tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(token)
            .filter(|t| t.expires_at > now)
            .map(|t| t.person.clone())
    }

    /// The last known person with subject `sub`.
    pub(crate) fn person_by_subject(&self, sub: &str) -> Option<Person> {
        let people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        people.get(sub).cloned()
    }

    fn remember(&self, person: &Person) {
        let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        people.insert(person.subject(), person.clone());
    }
}

/// 32 random bytes, base64url without padding.
fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        let pkce = Pkce {
            method: PkceMethod::S256,
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        };
        assert!(pkce.accepts("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!pkce.accepts("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
    }

    #[test]
    fn plain_compares_equal() {
        let pkce = Pkce {
            method: PkceMethod::Plain,
            challenge: "abc".into(),
        };
        assert!(pkce.accepts("abc"));
        assert!(!pkce.accepts("abd"));
        assert!(!pkce.accepts(""));
    }

    #[test]
    fn empty_method_means_plain_and_unknown_is_refused() {
        assert_eq!(PkceMethod::parse(""), Some(PkceMethod::Plain));
        assert_eq!(PkceMethod::parse("S256"), Some(PkceMethod::S256));
        assert_eq!(PkceMethod::parse("implicit"), None);
    }
}
