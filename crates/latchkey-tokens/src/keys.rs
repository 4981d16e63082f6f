//! The signing key ring and its JWKS.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::DecodingKey;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use sha2::{Digest, Sha256};

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not a PEM block")]
    NotPem,
    #[error("the signing key is not an Ed25519 private key in PKCS#8 form")]
    NotEd25519,
    #[error("could not generate a key")]
    Generate,
}

/// One Ed25519 key: signs new tokens and verifies them.
pub(crate) struct Key {
    pub(crate) kid: String,
    /// The parsed key pair, kept so that signing does not re-derive it from PKCS#8 each time.
    pub(crate) pair: Ed25519KeyPair,
    /// `base64url({"alg":"EdDSA","kid":…,"typ":"JWT"})`: the first part of every token it signs.
    pub(crate) header_b64: String,
    pub(crate) decoding: DecodingKey,
    /// Public key, base64url: the JWK `x`.
    x: String,
}

/// latchkey's signing keys. The first key signs; every key verifies and is published in the
/// JWKS (room for rotation: add the new key first, keep the old one until its tokens expire).
pub struct KeyRing {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeyRing").field("kids", &kids).finish()
    }
}

impl KeyRing {
    /// A new random key, with its PKCS#8 PEM so the caller can persist it.
    pub fn generate() -> Result<(Self, String), KeyError> {
        let der =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
        let pem = to_pem(der.as_ref());
        let key = key_from_der(der.as_ref())?;
        Ok((Self { keys: vec![key] }, pem))
    }

    /// Reads a PKCS#8 Ed25519 private key in PEM form (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = from_pem(pem)?;
        Ok(Self {
            keys: vec![key_from_der(&der)?],
        })
    }

    /// Adds keys that still verify but no longer sign (the previous keys after a rotation).
    #[must_use]
    pub fn with_verify_only(mut self, other: Self) -> Self {
        self.keys.extend(other.keys);
        self
    }

    /// The `kid` of the signing key.
    pub fn signing_kid(&self) -> &str {
        &self.signing().kid
    }

    pub(crate) fn signing(&self) -> &Key {
        // A KeyRing is only built with at least one key.
        &self.keys[0]
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The JWKS document (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": k.kid, "x": k.x,
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

fn key_from_der(der: &[u8]) -> Result<Key, KeyError> {
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| KeyError::NotEd25519)?;
    let public = pair.public_key().as_ref();
    let digest = Sha256::digest(public);
    let kid = URL_SAFE_NO_PAD.encode(&digest[..12]);
    let x = URL_SAFE_NO_PAD.encode(public);
    let decoding = DecodingKey::from_ed_components(&x).map_err(|_| KeyError::NotEd25519)?;
    let header = serde_json::json!({ "alg": "EdDSA", "kid": kid, "typ": "JWT" });
    let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
    Ok(Key {
        kid,
        pair,
        header_b64,
        decoding,
        x,
    })
}

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

fn to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from(PEM_BEGIN);
    out.push('\n');
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

fn from_pem(pem: &str) -> Result<Vec<u8>, KeyError> {
    let pem = pem.trim();
    let body = pem
        .strip_prefix(PEM_BEGIN)
        .and_then(|rest| rest.strip_suffix(PEM_END))
        .ok_or(KeyError::NotPem)?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).map_err(|_| KeyError::NotPem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_round_trips_through_pem() {
        let (ring, pem) = KeyRing::generate().unwrap();
        let again = KeyRing::from_pem(&pem).unwrap();
        assert_eq!(ring.signing_kid(), again.signing_kid());
        assert!(pem.starts_with(PEM_BEGIN));
    }

    #[test]
    fn an_openssl_pkcs8_v1_key_is_accepted() {
        // `openssl genpkey -algorithm ed25519` (a throwaway test key).
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIMLcmWGP47DEcnA8uwf3Mz/eI5C1GikUgcNyd9UTONEf\n-----END PRIVATE KEY-----\n";
        let ring = KeyRing::from_pem(pem).unwrap();
        assert_eq!(ring.jwks()["keys"][0]["kty"], "OKP");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(KeyRing::from_pem("hello"), Err(KeyError::NotPem)));
        let not_a_key = format!("{PEM_BEGIN}\nAAAA\n{PEM_END}");
        assert!(matches!(
            KeyRing::from_pem(&not_a_key),
            Err(KeyError::NotEd25519)
        ));
    }

    #[test]
    fn jwks_lists_every_key() {
        let (a, _) = KeyRing::generate().unwrap();
        let (b, _) = KeyRing::generate().unwrap();
        let a_kid = a.signing_kid().to_owned();
        let ring = a.with_verify_only(b);
        let jwks = ring.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][0]["kid"], a_kid.as_str());
        assert_eq!(ring.signing_kid(), a_kid);
    }
}
