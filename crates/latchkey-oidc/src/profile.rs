//! Turning verified ID-token claims, and userinfo when the ID token is terse, into a
//! [`Profile`].

use latchkey_core::Profile;
use serde_json::{Map, Value};

/// The profile the claims assert. `sub` has been checked to be present.
pub(crate) fn from_claims(claims: &Map<String, Value>) -> Profile {
    let (first_name, last_name) = names(claims);
    Profile {
        subject: text(claims, "sub").unwrap_or_default(),
        email: text(claims, "email"),
        email_verified: email_verified(claims),
        first_name,
        last_name,
        picture: text(claims, "picture"),
    }
}

/// Whether the profile lacks an e-mail or any name, so userinfo is worth asking.
pub(crate) fn is_incomplete(profile: &Profile) -> bool {
    profile.email.is_none() || (profile.first_name.is_none() && profile.last_name.is_none())
}

/// Takes from userinfo what the profile lacks. Userinfo's `sub` must be the profile's.
pub(crate) fn complete_from_userinfo(
    profile: &mut Profile,
    info: &Map<String, Value>,
) -> Result<(), String> {
    if text(info, "sub").as_deref() != Some(profile.subject.as_str()) {
        return Err("userinfo is about another subject than the ID token".to_owned());
    }
    if profile.email.is_none() {
        profile.email = text(info, "email");
        // Verification belongs to the address it came with.
        profile.email_verified = profile.email.is_some() && email_verified(info);
    }
    if profile.first_name.is_none() && profile.last_name.is_none() {
        (profile.first_name, profile.last_name) = names(info);
    }
    if profile.picture.is_none() {
        profile.picture = text(info, "picture");
    }
    Ok(())
}

/// A non-empty, trimmed string claim.
fn text(claims: &Map<String, Value>, key: &str) -> Option<String> {
    claims
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `email_verified` as a boolean or as the strings `"true"`/`"false"` (some providers, and
/// Google in the past); anything else is `false`.
fn email_verified(claims: &Map<String, Value>) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        Some(Value::String(verified)) => verified.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `given_name`/`family_name`, else `name` split at its first space.
fn names(claims: &Map<String, Value>) -> (Option<String>, Option<String>) {
    let given = text(claims, "given_name");
    let family = text(claims, "family_name");
    if given.is_some() || family.is_some() {
        return (given, family);
    }
    match text(claims, "name") {
        Some(name) => match name.split_once(' ') {
            Some((first, last)) => (Some(first.to_owned()), Some(last.trim().to_owned())),
            None => (Some(name), None),
        },
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn claims_become_a_profile() {
        let profile = from_claims(&map(json!({
            "sub": "110", "email": "ann@x.com", "email_verified": "true",
            "given_name": "Ann", "family_name": "Lee", "picture": "https://p",
        })));
        assert_eq!(profile.subject, "110");
        assert!(profile.email_verified);
        assert_eq!(profile.first_name.as_deref(), Some("Ann"));
        assert_eq!(profile.last_name.as_deref(), Some("Lee"));
        assert!(!is_incomplete(&profile));
    }

    #[test]
    fn email_verified_accepts_booleans_and_strings_only() {
        for (value, expected) in [
            (json!(true), true),
            (json!("TRUE"), true),
            (json!(false), false),
            (json!("false"), false),
            (json!(1), false),
            (Value::Null, false),
        ] {
            let claims = map(json!({ "sub": "1", "email_verified": value }));
            assert_eq!(from_claims(&claims).email_verified, expected, "{value}");
        }
    }

    #[test]
    fn name_is_split_when_parts_are_missing() {
        let profile = from_claims(&map(json!({ "sub": "1", "name": "Ann Marie Lee" })));
        assert_eq!(profile.first_name.as_deref(), Some("Ann"));
        assert_eq!(profile.last_name.as_deref(), Some("Marie Lee"));
        let profile = from_claims(&map(json!({ "sub": "1", "name": "Cher" })));
        assert_eq!(profile.first_name.as_deref(), Some("Cher"));
        assert_eq!(profile.last_name, None);
    }

    #[test]
    fn userinfo_fills_gaps_for_the_same_subject_only() {
        let mut profile = from_claims(&map(json!({ "sub": "1", "given_name": "Ann" })));
        assert!(is_incomplete(&profile));
        let info = map(json!({ "sub": "1", "email": "a@x", "email_verified": true,
                               "given_name": "Other", "picture": "p" }));
        complete_from_userinfo(&mut profile, &info).unwrap();
        assert_eq!(profile.email.as_deref(), Some("a@x"));
        assert!(profile.email_verified);
        assert_eq!(profile.first_name.as_deref(), Some("Ann"), "token wins");
        assert_eq!(profile.picture.as_deref(), Some("p"));

        let other = map(json!({ "sub": "2", "email": "b@x" }));
        assert!(complete_from_userinfo(&mut profile, &other).is_err());
    }
}
