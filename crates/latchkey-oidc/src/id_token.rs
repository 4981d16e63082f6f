//! ID-token verification, written out in one place: the algorithm is pinned to the key's
//! (RS256 or ES256; never `none` or HMAC), the signature is checked by jsonwebtoken, and the
//! claims by hand against the injected clock — jsonwebtoken's own `exp` check reads the wall
//! clock, so it is off.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Validation};
use latchkey_core::UnixTime;
use serde_json::{Map, Value};

use crate::http::clip;
use crate::jwks::VerificationKey;
use crate::settings::ProviderSettings;

/// Allowed clock difference with the provider, in seconds.
pub(crate) const LEEWAY: i64 = 60;

/// What the token header says: its algorithm (already known to be acceptable) and `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
}

/// Reads the header without trusting it; only RS256 and ES256 pass.
pub(crate) fn read_header(token: &str) -> Result<TokenHeader, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a signed JWT (three dot-separated parts)".to_owned());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| "header is not base64url".to_owned())?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| "header is not a JSON object".to_owned())?;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some(other) => return Err(format!("algorithm \"{}\" is not accepted", clip(other))),
        None => return Err("header has no alg".to_owned()),
    };
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok(TokenHeader { alg, kid })
}

/// Checks `token`'s signature with `key` (whose algorithm must be the header's) and its claims
/// against `settings` at `now`. Returns the claims.
pub(crate) fn verify(
    token: &str,
    header: &TokenHeader,
    key: &VerificationKey,
    settings: &ProviderSettings,
    now: UnixTime,
) -> Result<Map<String, Value>, String> {
    if key.alg != header.alg {
        return Err(format!(
            "header says {:?} but the key is for {:?}",
            header.alg, key.alg
        ));
    }
    let mut validation = Validation::new(key.alg);
    validation.validate_exp = false; // checked below against the injected clock
    validation.validate_nbf = false;
    validation.validate_aud = false; // checked below, with the azp rule
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
        .map_err(|e| format!("signature check failed: {e}"))?
        .claims;
    check_claims(&claims, settings, now)?;
    Ok(claims)
}

/// `iss`, `aud`/`azp`, `exp`, `iat` and `sub`.
fn check_claims(
    claims: &Map<String, Value>,
    settings: &ProviderSettings,
    now: UnixTime,
) -> Result<(), String> {
    let iss = claims.get("iss").and_then(Value::as_str).ok_or("no iss")?;
    if !settings.accepts_issuer(iss) {
        return Err(format!(
            "issuer \"{}\" is not \"{}\"",
            clip(iss),
            settings.issuer
        ));
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => return Err("no aud".to_owned()),
    };
    if !audiences.contains(&settings.client_id.as_str()) {
        return Err("audience does not include our client id".to_owned());
    }
    if audiences.len() > 1
        && claims.get("azp").and_then(Value::as_str) != Some(settings.client_id.as_str())
    {
        return Err("several audiences and azp is not our client id".to_owned());
    }

    let exp = number(claims, "exp").ok_or("no numeric exp")?;
    if now > exp.saturating_add(LEEWAY) {
        return Err(format!("expired at {exp}, now is {now}"));
    }
    let iat = number(claims, "iat").ok_or("no numeric iat")?;
    if iat > now.saturating_add(LEEWAY) {
        return Err(format!("issued in the future ({iat}, now is {now})"));
    }

    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.trim().is_empty() => Ok(()),
        _ => Err("no sub".to_owned()),
    }
}

/// A NumericDate claim; fractions are cut.
fn number(claims: &Map<String, Value>, key: &str) -> Option<i64> {
    let value = claims.get(key)?;
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use latchkey_core::Secret;
    use serde_json::json;

    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings::google("cid", Secret::new("s"))
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn good() -> Value {
        json!({ "iss": "https://accounts.google.com", "aud": "cid", "sub": "1",
                "iat": 1000, "exp": 4600 })
    }

    fn check(mutate: impl FnOnce(&mut Value), now: i64) -> Result<(), String> {
        let mut value = good();
        mutate(&mut value);
        check_claims(&claims(value), &settings(), now)
    }

    #[test]
    fn good_claims_pass_within_the_leeway() {
        assert!(check(|_| {}, 1000).is_ok());
        assert!(check(|_| {}, 4660).is_ok());
        assert!(check(|_| {}, 940).is_ok());
        assert!(check(|c| c["iss"] = json!("accounts.google.com"), 1000).is_ok());
        assert!(check(|c| c["exp"] = json!(4600.5), 1000).is_ok());
    }

    #[test]
    fn each_claim_is_checked() {
        let err = |mutate: fn(&mut Value), now| check(mutate, now).unwrap_err();
        assert!(err(|_| {}, 4661).contains("expired"));
        assert!(err(|_| {}, 939).contains("future"));
        assert!(err(|c| c["iss"] = json!("https://evil"), 1000).contains("issuer"));
        assert!(err(|c| c["aud"] = json!("other"), 1000).contains("audience"));
        assert!(err(|c| c["aud"] = json!(["cid", "other"]), 1000).contains("azp"));
        assert!(err(|c| c["sub"] = json!(""), 1000).contains("sub"));
        assert!(err(|c| c["exp"] = json!("4600"), 1000).contains("exp"));
        assert!(err(|c| drop(c.as_object_mut().map(|o| o.remove("iat"))), 1000).contains("iat"));
    }

    #[test]
    fn several_audiences_need_azp() {
        assert!(check(
            |c| {
                c["aud"] = json!(["other", "cid"]);
                c["azp"] = json!("cid");
            },
            1000
        )
        .is_ok());
    }

    #[test]
    fn only_rs256_and_es256_headers_pass() {
        let token = |header: &str| format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(header));
        let header = read_header(&token(r#"{"alg":"RS256","kid":"k"}"#)).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("k"));
        assert_eq!(
            read_header(&token(r#"{"alg":"ES256"}"#)).unwrap().alg,
            Algorithm::ES256
        );
        for bad in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"typ":"JWT"}"#,
            "[]",
        ] {
            assert!(read_header(&token(bad)).is_err(), "{bad}");
        }
        assert!(read_header("a.b").is_err());
        assert!(read_header("a.b.c.d").is_err());
        assert!(read_header("!!.e30.x").is_err());
        assert!(read_header("").is_err());
    }
}
