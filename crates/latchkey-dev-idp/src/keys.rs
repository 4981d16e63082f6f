//! The RSA keys the dev identity provider signs ID tokens with, and the JWKS document that
//! publishes them. Keys are generated in memory at start; [`KeyRing::rotate`] adds a new current
//! key and keeps the previous one published, as Google does.

use std::sync::RwLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::server::DevIdpError;

const KEY_BITS: usize = 2048;
/// How many keys the JWKS lists: the current one and the one before it.
const PUBLISHED_KEYS: usize = 2;

/// One signing key.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    /// The public half as a JWK.
    jwk: Value,
}

impl SigningKey {
    /// Generates an RSA-2048 key. Slow-ish (tens of milliseconds optimised): call it off the
    /// async runtime.
    fn generate() -> Result<Self, DevIdpError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
            .map_err(|e| DevIdpError::Key(e.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| DevIdpError::Key(e.to_string()))?;
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        // Google's kids are 40 hex digits; derive ours from the modulus so they are stable per key.
        let digest = Sha256::digest(n.as_bytes());
        let kid: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
        let jwk = json!({ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": e });
        Ok(Self {
            kid,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk,
        })
    }
}

/// The published keys, newest first.
pub(crate) struct KeyRing {
    keys: RwLock<Vec<SigningKey>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A ring with one fresh key.
    pub(crate) async fn generate() -> Result<Self, DevIdpError> {
        let key = generate_off_runtime().await?;
        Ok(Self {
            keys: RwLock::new(vec![key]),
        })
    }

    /// Makes a fresh key current; the previous current key stays published. Returns the new kid.
    pub(crate) async fn rotate(&self) -> Result<String, DevIdpError> {
        let key = generate_off_runtime().await?;
        let kid = key.kid.clone();
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.insert(0, key);
        keys.truncate(PUBLISHED_KEYS);
        Ok(kid)
    }

    /// The kid of the current key.
    pub(crate) fn current_kid(&self) -> String {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.first().map(|k| k.kid.clone()).unwrap_or_default()
    }

    /// Signs `claims` as an RS256 JWT with the current key and its `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, DevIdpError> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let key = keys
            .first()
            .ok_or_else(|| DevIdpError::Key("no signing key".to_owned()))?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| DevIdpError::Key(e.to_string()))
    }

    /// The JWKS document: `{"keys": [...]}`.
    pub(crate) fn jwks(&self) -> Value {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }
}

async fn generate_off_runtime() -> Result<SigningKey, DevIdpError> {
    tokio::task::spawn_blocking(SigningKey::generate)
        .await
        .map_err(|e| DevIdpError::Key(e.to_string()))?
}
