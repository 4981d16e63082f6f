//! Issuing and verifying access and refresh tokens.

use std::collections::HashSet;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Validation};
use latchkey_core::{Session, UnixTime, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::VerifiedCache;
use crate::keys::KeyRing;

/// Which kind of token a JWT is (`token_type` claim, as in SimpleJWT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims of every latchkey token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id as a string (JWT convention); `user_id` carries it as an integer.
    pub sub: String,
    pub user_id: UserId,
    pub token_type: TokenType,
    /// The session the token belongs to.
    pub sid: String,
    /// The refresh token's generation within its session (refresh tokens only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gen: Option<i64>,
    pub jti: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
}

/// A signed token and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: UnixTime,
}

/// Why a token was refused. The `Display` texts are safe to show to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, bad signature, wrong algorithm, unknown key, wrong issuer or audience.
    #[error("Token is invalid")]
    Invalid,
    #[error("Token is expired")]
    Expired,
    #[error("Token has wrong type")]
    WrongType,
    /// Signing failed (a broken key); never the client's fault.
    #[error("could not sign a token")]
    Signing,
}

/// Issuer, audience and lifetimes (seconds).
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
}

/// How many verified access tokens [`TokenService::verify_access`] remembers.
const VERIFIED_CACHE_CAPACITY: usize = 10_000;

/// How many refresh tokens this service signed it remembers for [`TokenService::verify_refresh`].
const ISSUED_REFRESH_CAPACITY: usize = 10_000;

/// Issues and verifies latchkey's JWTs.
#[derive(Debug)]
pub struct TokenService {
    keys: KeyRing,
    settings: TokenSettings,
    validation: Validation,
    /// Access tokens that passed [`TokenService::verify`].
    verified: VerifiedCache,
    /// Refresh tokens this service signed, as signed: the next refresh of a session presents
    /// the token its previous refresh answered, which is known good without checking our own
    /// signature again (the most expensive step of a refresh).
    issued_refresh: VerifiedCache,
}

impl TokenService {
    pub fn new(keys: KeyRing, settings: TokenSettings) -> Self {
        let validation = validation(&settings);
        Self {
            keys,
            settings,
            validation,
            verified: VerifiedCache::new(VERIFIED_CACHE_CAPACITY),
            issued_refresh: VerifiedCache::new(ISSUED_REFRESH_CAPACITY),
        }
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// A new access token for the user in `session_id`, valid from `now` for the access lifetime.
    pub fn issue_access(
        &self,
        user_id: UserId,
        session_id: &str,
        now: UnixTime,
    ) -> Result<IssuedToken, TokenError> {
        let exp = now.saturating_add(self.settings.access_lifetime);
        let claims = self.claims(user_id, session_id, TokenType::Access, None, now, exp);
        Ok(IssuedToken {
            token: self.sign(&claims)?,
            expires_at: exp,
        })
    }

    /// The refresh token of the session's current generation. Deterministic: the same session
    /// state always gives the same token (see the crate docs). Remembered for
    /// [`TokenService::verify_refresh`].
    pub fn issue_refresh(&self, session: &Session) -> Result<IssuedToken, TokenError> {
        let claims = self.claims(
            session.user_id,
            &session.id,
            TokenType::Refresh,
            Some(session.generation),
            session.rotated_at,
            session.expires_at,
        );
        let token = self.sign(&claims)?;
        // `rotated_at` (the token's `iat`) stands in for now: it only decides which entries
        // are certainly dead when the cache is full.
        self.issued_refresh
            .insert(&token, Arc::new(claims), session.rotated_at);
        Ok(IssuedToken {
            token,
            expires_at: session.expires_at,
        })
    }

    /// [`TokenService::verify`] for access tokens, remembering the tokens that verified: a
    /// token seen before is answered from memory (still refused once `now >= exp`).
    pub fn verify_access(&self, token: &str, now: UnixTime) -> Result<Arc<Claims>, TokenError> {
        if let Some(claims) = self.verified.get(token) {
            return judge_remembered(claims, TokenType::Access, now);
        }
        let claims = Arc::new(self.verify(token, TokenType::Access, now)?);
        self.verified.insert(token, claims.clone(), now);
        Ok(claims)
    }

    /// [`TokenService::verify`] for refresh tokens. A token byte for byte equal to one this
    /// service signed (and still remembers) is known to carry our valid signature, so only
    /// its expiry is judged; any other token is verified in full. Whether the session still
    /// accepts the token is the store's decision either way.
    pub fn verify_refresh(&self, token: &str, now: UnixTime) -> Result<Arc<Claims>, TokenError> {
        match self.issued_refresh.get(token) {
            Some(claims) => judge_remembered(claims, TokenType::Refresh, now),
            None => self.verify(token, TokenType::Refresh, now).map(Arc::new),
        }
    }

    /// A token of either type (SimpleJWT's `UntypedToken`, for `/auth/token/verify/`): answered
    /// from the memories of [`TokenService::verify_access`] and [`TokenService::verify_refresh`]
    /// when it is in one, else verified in full (and remembered if it is an access token).
    pub fn verify_any(&self, token: &str, now: UnixTime) -> Result<Arc<Claims>, TokenError> {
        let remembered = self
            .verified
            .get(token)
            .or_else(|| self.issued_refresh.get(token));
        if let Some(claims) = remembered {
            let token_type = claims.token_type;
            return judge_remembered(claims, token_type, now);
        }
        let claims = Arc::new(self.verify_untyped(token, now)?);
        if claims.token_type == TokenType::Access {
            self.verified.insert(token, claims.clone(), now);
        }
        Ok(claims)
    }

    /// Verifies signature, algorithm, key, issuer, audience, type and expiry (`now < exp`).
    pub fn verify(
        &self,
        token: &str,
        expected: TokenType,
        now: UnixTime,
    ) -> Result<Claims, TokenError> {
        let claims = self.verify_untyped(token, now)?;
        if claims.token_type != expected {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }

    /// [`TokenService::verify`] without the type check.
    fn verify_untyped(&self, token: &str, now: UnixTime) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self.keys.find(&kid).ok_or(TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.sub != claims.user_id.to_string() {
            return Err(TokenError::Invalid);
        }
        if claims.token_type == TokenType::Refresh && claims.gen.is_none() {
            return Err(TokenError::Invalid);
        }
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn claims(
        &self,
        user_id: UserId,
        session_id: &str,
        token_type: TokenType,
        gen: Option<i64>,
        iat: UnixTime,
        exp: UnixTime,
    ) -> Claims {
        let jti = match gen {
            // A refresh token's id is derived from what it names, so re-issuing is idempotent.
            Some(gen) => hex32(&Sha256::digest(format!("{session_id}:{gen}"))),
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user_id.to_string(),
            user_id,
            token_type,
            sid: session_id.to_owned(),
            gen,
            jti,
            iat,
            exp,
        }
    }

    /// JWS compact serialisation, signed with the ring key pair held by the key ring
    /// (`jsonwebtoken::encode` would parse the PKCS#8 key again for every token).
    fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let key = self.keys.signing();
        let payload = serde_json::to_vec(claims).map_err(|_| TokenError::Signing)?;
        let mut token = String::with_capacity(key.header_b64.len() + payload.len() * 2 + 90);
        token.push_str(&key.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = key.pair.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}

/// The checks of [`TokenService::verify`] that depend on the time or the caller, for claims
/// remembered from an earlier full verification or from signing.
fn judge_remembered(
    claims: Arc<Claims>,
    expected: TokenType,
    now: UnixTime,
) -> Result<Arc<Claims>, TokenError> {
    if now >= claims.exp {
        Err(TokenError::Expired)
    } else if claims.token_type != expected {
        Err(TokenError::WrongType)
    } else {
        Ok(claims)
    }
}

/// The one place JWT validation is configured: EdDSA only, `iss`/`aud`/`exp`/`iat`/`sub`
/// required, issuer and audience pinned. `exp` itself is judged against the injected clock in
/// [`TokenService::verify`], because jsonwebtoken would read the wall clock.
fn validation(settings: &TokenSettings) -> Validation {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.leeway = 0;
    v.set_issuer(&[settings.issuer.as_str()]);
    v.set_audience(&[settings.audience.as_str()]);
    v.required_spec_claims = ["exp", "iat", "iss", "aud", "sub"]
        .into_iter()
        .map(str::to_owned)
        .collect::<HashSet<_>>();
    v
}

fn hex32(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::Header;

    use super::*;

    const NOW: UnixTime = 1_700_000_000;

    fn service() -> TokenService {
        TokenService::new(KeyRing::generate().unwrap().0, settings())
    }

    fn settings() -> TokenSettings {
        TokenSettings {
            issuer: "http://localhost:8000".into(),
            audience: "latchkey".into(),
            access_lifetime: 300,
            refresh_lifetime: 86_400,
        }
    }

    fn session(generation: i64) -> Session {
        Session {
            id: "0123456789abcdef0123456789abcdef".into(),
            user_id: 7,
            generation,
            rotated_at: NOW,
            created_at: NOW,
            last_used_at: NOW,
            expires_at: NOW + 86_400,
            revoked_at: None,
            revoked_reason: None,
            user_agent: String::new(),
            ip: String::new(),
        }
    }

    fn payload(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn an_access_token_verifies_until_it_expires() {
        let svc = service();
        let t = svc.issue_access(7, "sid", NOW).unwrap();
        assert_eq!(t.expires_at, NOW + 300);
        let claims = svc.verify(&t.token, TokenType::Access, NOW + 299).unwrap();
        assert_eq!(claims.user_id, 7);
        assert_eq!(claims.sid, "sid");
        assert_eq!(claims.jti.len(), 32);
        assert_eq!(
            svc.verify(&t.token, TokenType::Access, NOW + 300),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn verify_access_remembers_good_tokens_only_and_still_expires_them() {
        let svc = service();
        let t = svc.issue_access(7, "sid", NOW).unwrap().token;
        let refresh = svc.issue_refresh(&session(1)).unwrap().token;
        assert_eq!(svc.verify_access(&t, NOW).unwrap().user_id, 7);
        assert_eq!(svc.verify_access(&t, NOW + 1).unwrap().user_id, 7);
        assert_eq!(svc.verified.len(), 1);
        assert_eq!(svc.verify_access(&t, NOW + 300), Err(TokenError::Expired));
        assert_eq!(svc.verify_access("junk", NOW), Err(TokenError::Invalid));
        assert_eq!(svc.verify_access(&refresh, NOW), Err(TokenError::WrongType));
        assert_eq!(svc.verified.len(), 1, "failures are not remembered");
    }

    #[test]
    fn verify_refresh_answers_tokens_it_signed_from_memory_and_judges_the_rest_in_full() {
        let keys_pem = KeyRing::generate().unwrap().1;
        let svc = TokenService::new(KeyRing::from_pem(&keys_pem).unwrap(), settings());
        let issued = svc.issue_refresh(&session(3)).unwrap();
        assert_eq!(svc.issued_refresh.len(), 1);
        let claims = svc.verify_refresh(&issued.token, NOW).unwrap();
        assert_eq!((claims.gen, claims.user_id), (Some(3), 7));
        assert_eq!(
            svc.verify_refresh(&issued.token, issued.expires_at),
            Err(TokenError::Expired),
            "a remembered token still expires"
        );

        // Signed by this key but not remembered here (another node, or after a restart):
        // verified in full, and still good.
        let other_node = TokenService::new(KeyRing::from_pem(&keys_pem).unwrap(), settings());
        let claims = other_node.verify_refresh(&issued.token, NOW).unwrap();
        assert_eq!(claims.gen, Some(3));
        assert_eq!(other_node.issued_refresh.len(), 0);

        // Anything else is refused as before: a tampered copy of a remembered token, an
        // access token, another key's token, junk.
        let mut tampered = issued.token.clone();
        tampered.pop();
        tampered.push(if issued.token.ends_with('A') {
            'B'
        } else {
            'A'
        });
        assert_eq!(svc.verify_refresh(&tampered, NOW), Err(TokenError::Invalid));
        let access = svc.issue_access(7, "sid", NOW).unwrap().token;
        assert_eq!(svc.verify_refresh(&access, NOW), Err(TokenError::WrongType));
        let foreign = service().issue_refresh(&session(3)).unwrap().token;
        assert_eq!(svc.verify_refresh(&foreign, NOW), Err(TokenError::Invalid));
        assert_eq!(svc.verify_refresh("junk", NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn verify_any_takes_either_type_remembers_access_tokens_and_still_expires() {
        let svc = service();
        let access = svc.issue_access(7, "sid", NOW).unwrap();
        let refresh = svc.issue_refresh(&session(3)).unwrap();

        let claims = svc.verify_any(&access.token, NOW).unwrap();
        assert_eq!(claims.token_type, TokenType::Access);
        assert_eq!(
            svc.verified.len(),
            1,
            "a verified access token is remembered"
        );
        assert_eq!(
            svc.verify_any(&access.token, NOW + 1).unwrap().token_type,
            TokenType::Access
        );
        assert_eq!(
            svc.verify_any(&access.token, access.expires_at),
            Err(TokenError::Expired)
        );

        let claims = svc.verify_any(&refresh.token, NOW).unwrap();
        assert_eq!(
            (claims.token_type, claims.gen),
            (TokenType::Refresh, Some(3))
        );
        assert_eq!(
            svc.verify_any(&refresh.token, refresh.expires_at),
            Err(TokenError::Expired)
        );
        // Another service with the same key remembers nothing, verifies in full, and agrees.
        let keys_pem = KeyRing::generate().unwrap().1;
        let a = TokenService::new(KeyRing::from_pem(&keys_pem).unwrap(), settings());
        let b = TokenService::new(KeyRing::from_pem(&keys_pem).unwrap(), settings());
        let token = a.issue_refresh(&session(5)).unwrap().token;
        assert_eq!(b.verify_any(&token, NOW).unwrap().gen, Some(5));
        assert_eq!(
            b.verified.len(),
            0,
            "refresh tokens are not put in the access memory"
        );

        let foreign = service().issue_access(7, "sid", NOW).unwrap().token;
        assert_eq!(svc.verify_any(&foreign, NOW), Err(TokenError::Invalid));
        assert_eq!(svc.verify_any("junk", NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn the_verified_cache_stays_bounded() {
        let cache = VerifiedCache::new(2);
        let svc = service();
        for i in 0..5 {
            let token = svc.issue_access(i, "sid", NOW).unwrap().token;
            let claims = Arc::new(svc.verify(&token, TokenType::Access, NOW).unwrap());
            cache.insert(&token, claims, NOW);
            assert!(cache.len() <= 2);
        }
    }

    #[test]
    fn the_payload_has_the_documented_claims() {
        let svc = service();
        let t = svc.issue_access(7, "sid", NOW).unwrap();
        let p = payload(&t.token);
        for claim in [
            "iss",
            "aud",
            "sub",
            "user_id",
            "token_type",
            "sid",
            "jti",
            "iat",
            "exp",
        ] {
            assert!(p.get(claim).is_some(), "missing {claim}");
        }
        assert_eq!(p["token_type"], "access");
        assert!(p.get("gen").is_none());
        assert!(t.token.len() < 600, "tokens live in cookies");
    }

    #[test]
    fn refresh_tokens_are_deterministic_per_generation() {
        let svc = service();
        let a = svc.issue_refresh(&session(3)).unwrap();
        let b = svc.issue_refresh(&session(3)).unwrap();
        let c = svc.issue_refresh(&session(4)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.token, c.token);
        let claims = svc.verify(&a.token, TokenType::Refresh, NOW).unwrap();
        assert_eq!(claims.gen, Some(3));
    }

    #[test]
    fn the_wrong_type_is_refused() {
        let svc = service();
        let access = svc.issue_access(7, "sid", NOW).unwrap().token;
        let refresh = svc.issue_refresh(&session(1)).unwrap().token;
        assert_eq!(
            svc.verify(&access, TokenType::Refresh, NOW),
            Err(TokenError::WrongType)
        );
        assert_eq!(
            svc.verify(&refresh, TokenType::Access, NOW),
            Err(TokenError::WrongType)
        );
    }

    #[test]
    fn another_keys_signature_is_refused() {
        let svc = service();
        let other = service();
        let token = other.issue_access(7, "sid", NOW).unwrap().token;
        assert_eq!(
            svc.verify(&token, TokenType::Access, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let svc = service();
        let token = svc.issue_access(7, "sid", NOW).unwrap().token;
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut p = payload(&token);
        p["user_id"] = 1.into();
        p["sub"] = "1".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&p).unwrap());
        assert_eq!(
            svc.verify(&parts.join("."), TokenType::Access, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn alg_none_and_hs256_with_the_public_key_are_refused() {
        let svc = service();
        let claims = payload(&svc.issue_access(7, "sid", NOW).unwrap().token);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let kid = svc.keys().signing_kid().to_owned();

        let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{kid}"}}"#));
        let none_token = format!("{none_header}.{body}.");
        assert_eq!(
            svc.verify(&none_token, TokenType::Access, NOW),
            Err(TokenError::Invalid)
        );

        // The classic confusion attack: HMAC keyed with the published public key.
        let x = svc.keys().jwks()["keys"][0]["x"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid);
        let forged = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(x.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            svc.verify(&forged, TokenType::Access, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let keys_pem = KeyRing::generate().unwrap().1;
        let svc = TokenService::new(KeyRing::from_pem(&keys_pem).unwrap(), settings());
        let mut other_settings = settings();
        other_settings.audience = "someone-else".into();
        let other = TokenService::new(KeyRing::from_pem(&keys_pem).unwrap(), other_settings);
        let token = other.issue_access(7, "sid", NOW).unwrap().token;
        assert_eq!(
            svc.verify(&token, TokenType::Access, NOW),
            Err(TokenError::Invalid)
        );
        let mut other_settings = settings();
        other_settings.issuer = "https://evil.example".into();
        let other = TokenService::new(KeyRing::from_pem(&keys_pem).unwrap(), other_settings);
        let token = other.issue_access(7, "sid", NOW).unwrap().token;
        assert_eq!(
            svc.verify(&token, TokenType::Access, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn garbage_is_invalid() {
        let svc = service();
        for junk in ["", "abc", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30.AAAA"] {
            assert_eq!(
                svc.verify(junk, TokenType::Access, NOW),
                Err(TokenError::Invalid)
            );
        }
    }
}
