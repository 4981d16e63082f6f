//! Who signs in at the dev identity provider: an e-mail, a display name and whether the e-mail
//! counts as verified. Derives what Google would assert about them: a stable numeric `sub`, name
//! parts, initials for the avatar, and the profile claims shared by ID tokens and userinfo.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// A person as typed into the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) email_verified: bool,
}

impl Person {
    /// The stable subject: 21 decimal digits starting with `1`, derived from the lowercased
    /// e-mail, like Google's numeric account ids.
    pub(crate) fn subject(&self) -> String {
        subject_for(&self.email)
    }

    /// `(given_name, family_name)`: the name split at its first space.
    pub(crate) fn name_parts(&self) -> (String, String) {
        let name = self.name.trim();
        match name.split_once(' ') {
            Some((given, family)) => (given.to_owned(), family.trim().to_owned()),
            None => (name.to_owned(), String::new()),
        }
    }

    /// Up to two uppercase initials for the avatar, `?` when there is nothing to take them from.
    pub(crate) fn initials(&self) -> String {
        let source = if self.name.trim().is_empty() {
            self.email.split('@').next().unwrap_or_default()
        } else {
            self.name.as_str()
        };
        let initials: String = source
            .split_whitespace()
            .filter_map(|word| word.chars().next())
            .take(2)
            .flat_map(char::to_uppercase)
            .collect();
        if initials.is_empty() {
            "?".to_owned()
        } else {
            initials
        }
    }

    /// The profile claims shared by the ID token and userinfo: `sub`, `email`, `email_verified`,
    /// `name`, `given_name`, `family_name` (absent when empty, as Google does), `picture`, `locale`.
    pub(crate) fn profile_claims(&self, base_url: &str) -> Map<String, Value> {
        let sub = self.subject();
        let (given, family) = self.name_parts();
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(sub));
        claims.insert("email".into(), json!(self.email));
        claims.insert("email_verified".into(), json!(self.email_verified));
        if !self.name.trim().is_empty() {
            claims.insert("name".into(), json!(self.name.trim()));
        }
        if !given.is_empty() {
            claims.insert("given_name".into(), json!(given));
        }
        if !family.is_empty() {
            claims.insert("family_name".into(), json!(family));
        }
        claims.insert(
            "picture".into(),
            json!(format!("{base_url}/avatar/{sub}.svg")),
        );
        claims.insert("locale".into(), json!("en"));
        claims
    }
}

/// The `sub` the dev identity provider gives to `email`.
pub(crate) fn subject_for(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    let number = u128::from_be_bytes(first) % 100_000_000_000_000_000_000;
    format!("1{number:020}")
}

/// A display name guessed from an e-mail's local part: `ann.lee+x@…` → `Ann Lee`. Used when a
/// request is approved without the page (auto-approve), so there is no typed name.
pub(crate) fn name_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    local
        .split(['.', '_', '-'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: &str, name: &str) -> Person {
        Person {
            email: email.into(),
            name: name.into(),
            email_verified: true,
        }
    }

    #[test]
    fn subject_is_21_digits_and_stable_per_email() {
        let sub = subject_for("Ann@Example.com");
        assert_eq!(sub.len(), 21);
        assert!(sub.chars().all(|c| c.is_ascii_digit()));
        assert!(sub.starts_with('1'));
        assert_eq!(sub, subject_for(" ann@example.com"));
        assert_ne!(sub, subject_for("bob@example.com"));
    }

    #[test]
    fn names_split_at_the_first_space() {
        assert_eq!(
            person("a@x", "Ann Marie Lee").name_parts(),
            ("Ann".into(), "Marie Lee".into())
        );
        assert_eq!(
            person("a@x", "Cher").name_parts(),
            ("Cher".into(), String::new())
        );
    }

    #[test]
    fn initials_come_from_the_name_or_the_email() {
        assert_eq!(person("a@x", "ann lee").initials(), "AL");
        assert_eq!(person("zoe@x", "").initials(), "Z");
        assert_eq!(person("@x", " ").initials(), "?");
    }

    #[test]
    fn name_is_guessed_from_the_email() {
        assert_eq!(name_from_email("ann.lee+test@example.com"), "Ann Lee");
        assert_eq!(name_from_email("bob@example.com"), "Bob");
    }

    #[test]
    fn family_name_is_absent_when_empty() {
        let claims = person("cher@x", "Cher").profile_claims("http://h");
        assert!(!claims.contains_key("family_name"));
        assert_eq!(claims["given_name"], "Cher");
        assert!(claims["picture"]
            .as_str()
            .unwrap_or_default()
            .ends_with(".svg"));
    }
}
