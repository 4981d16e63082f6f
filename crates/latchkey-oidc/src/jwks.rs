//! The provider's signing keys: parsing a JWKS into verification keys (RS256 and ES256 only),
//! caching them for the TTL, and deciding when an unknown `kid` may force a refetch (at most once
//! per [`FORCED_REFETCH_INTERVAL`] seconds of the injected clock, so a stream of forged `kid`s
//! cannot make latchkey hammer the provider).

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey};
use latchkey_core::UnixTime;
use serde_json::{Map, Value};

/// Minimum seconds between two refetches forced by an unknown `kid`.
pub(crate) const FORCED_REFETCH_INTERVAL: i64 = 10;

/// One usable verification key.
#[derive(Clone)]
pub(crate) struct VerificationKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A parsed JWKS.
pub(crate) type KeySet = Arc<Vec<VerificationKey>>;

/// Reads the usable keys of a JWKS document; keys of other types, algorithms or uses are
/// skipped. `Err` only when there is no `keys` array.
pub(crate) fn parse_jwks(doc: &Map<String, Value>) -> Result<KeySet, String> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    Ok(Arc::new(
        keys.iter()
            .filter_map(Value::as_object)
            .filter_map(parse_jwk)
            .collect(),
    ))
}

fn parse_jwk(jwk: &Map<String, Value>) -> Option<VerificationKey> {
    let text = |key: &str| jwk.get(key).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let (alg, key) = match (text("kty")?, text("alg")) {
        ("RSA", None | Some("RS256")) => (
            Algorithm::RS256,
            DecodingKey::from_rsa_components(text("n")?, text("e")?).ok()?,
        ),
        ("EC", None | Some("ES256")) if text("crv") == Some("P-256") => (
            Algorithm::ES256,
            DecodingKey::from_ec_components(text("x")?, text("y")?).ok()?,
        ),
        _ => return None,
    };
    Some(VerificationKey {
        kid: text("kid").map(str::to_owned),
        alg,
        key,
    })
}

/// The key for a token header: by `kid`, or, when the token has none, the only key of the set.
pub(crate) fn find(keys: &KeySet, kid: Option<&str>) -> Option<VerificationKey> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
}

#[derive(Debug, Default)]
struct State {
    cached: Option<(KeySet, UnixTime)>,
    last_forced: Option<UnixTime>,
}

/// The cached key set and the forced-refetch throttle.
#[derive(Debug, Default)]
pub(crate) struct JwksCache {
    state: Mutex<State>,
}

impl JwksCache {
    /// The cached keys if fetched less than `ttl` seconds before `now`.
    pub(crate) fn fresh(&self, now: UnixTime, ttl: i64) -> Option<KeySet> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .cached
            .as_ref()
            .filter(|(_, at)| now.saturating_sub(*at) < ttl)
            .map(|(keys, _)| keys.clone())
    }

    pub(crate) fn store(&self, keys: KeySet, now: UnixTime) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.cached = Some((keys, now));
    }

    /// Whether an unknown `kid` may force a refetch now; if so, records that it happened.
    pub(crate) fn may_force_refetch(&self, now: UnixTime) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let allowed = state
            .last_forced
            .is_none_or(|last| now.saturating_sub(last) >= FORCED_REFETCH_INTERVAL);
        if allowed {
            state.last_forced = Some(now);
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    // A 512-bit modulus is enough to parse; nothing is verified with it.
    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    #[test]
    fn only_signature_keys_for_rs256_and_es256_are_kept() {
        let doc = object(json!({ "keys": [
            { "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "a", "n": N, "e": "AQAB" },
            { "kty": "RSA", "kid": "no-alg", "n": N, "e": "AQAB" },
            { "kty": "RSA", "alg": "RS256", "use": "enc", "kid": "enc", "n": N, "e": "AQAB" },
            { "kty": "RSA", "alg": "RS512", "kid": "rs512", "n": N, "e": "AQAB" },
            { "kty": "oct", "alg": "HS256", "kid": "hmac", "k": "c2VjcmV0" },
            { "kty": "RSA", "kid": "broken" },
            "not an object",
        ]}));
        let keys = parse_jwks(&doc).unwrap();
        let kids: Vec<_> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, ["a", "no-alg"]);
        assert!(find(&keys, Some("a")).is_some());
        assert!(find(&keys, Some("hmac")).is_none());
        assert!(find(&keys, None).is_none(), "two keys: a kid is needed");
        assert!(parse_jwks(&object(json!({ "nope": [] }))).is_err());
    }

    #[test]
    fn forced_refetches_are_throttled_by_the_clock() {
        let cache = JwksCache::default();
        assert!(cache.may_force_refetch(100));
        assert!(!cache.may_force_refetch(105));
        assert!(cache.may_force_refetch(110));
    }

    #[test]
    fn the_cache_expires_after_the_ttl() {
        let cache = JwksCache::default();
        cache.store(Arc::new(Vec::new()), 100);
        assert!(cache.fresh(3699, 3600).is_some());
        assert!(cache.fresh(3700, 3600).is_none());
    }
}
