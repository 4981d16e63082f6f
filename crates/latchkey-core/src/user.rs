//! Users and what providers tell us about them.

use serde::Serialize;

/// A user's primary key. Integer, as in the tutorial backend (`pk`, `user_id`).
pub type UserId = i64;

/// A latchkey user. Serialises as the tutorial's `/auth/user/` body plus `picture`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub pk: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub picture: String,
    #[serde(skip)]
    pub is_active: bool,
}

/// What an identity provider asserted about the person signing in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The provider's stable identifier for the person (OIDC `sub`).
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub picture: Option<String>,
}

/// The fields of a user about to be created. The store makes `username_base` unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username_base: String,
    pub email: String,
    /// Whether the provider said `email` is verified.
    pub email_verified: bool,
    pub first_name: String,
    pub last_name: String,
    pub picture: String,
}

impl NewUser {
    /// The user a first sign-in with `profile` creates.
    pub fn from_profile(profile: &Profile) -> Self {
        let email = profile.email.clone().unwrap_or_default();
        Self {
            username_base: username_base(&email, profile.first_name.as_deref()),
            email,
            email_verified: profile.email_verified,
            first_name: clip(profile.first_name.as_deref().unwrap_or_default(), 150),
            last_name: clip(profile.last_name.as_deref().unwrap_or_default(), 150),
            picture: clip(profile.picture.as_deref().unwrap_or_default(), 1000),
        }
    }
}

/// Longest username, as in Django.
pub(crate) const USERNAME_MAX: usize = 150;

/// The username a new user starts from: the e-mail's local part (else the first name, else
/// `user`), folded to the characters Django allows in usernames (`[a-z0-9@.+_-]`), lowercase.
pub fn username_base(email: &str, first_name: Option<&str>) -> String {
    let local = email.split('@').next().unwrap_or_default();
    [Some(local), first_name]
        .into_iter()
        .flatten()
        .map(fold_username)
        .find(|candidate| !candidate.is_empty())
        .unwrap_or_else(|| "user".to_owned())
}

fn fold_username(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.trim().chars() {
        let c = fold_accent(c);
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '_' | '-') {
            out.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() && !out.ends_with('_') {
            out.push('_');
        }
    }
    // Leave room for a numeric suffix.
    out.chars().take(USERNAME_MAX - 8).collect()
}

/// Maps common Latin letters with diacritics to their base letter (é → e). Others pass through
/// and are then dropped by the allowed-character filter.
fn fold_accent(c: char) -> char {
    match c {
        'à'..='å' => 'a',
        'À'..='Å' => 'A',
        'è'..='ë' => 'e',
        'È'..='Ë' => 'E',
        'ì'..='ï' => 'i',
        'Ì'..='Ï' => 'I',
        'ò'..='ö' | 'ø' => 'o',
        'Ò'..='Ö' | 'Ø' => 'O',
        'ù'..='ü' => 'u',
        'Ù'..='Ü' => 'U',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ç' => 'c',
        'Ç' => 'C',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        other => other,
    }
}

/// Checks a username a user chose: 1 to 150 characters from `[A-Za-z0-9@.+_-]`.
pub fn validate_username(username: &str) -> Result<(), &'static str> {
    if username.is_empty() {
        return Err("This field may not be blank.");
    }
    if username.chars().count() > USERNAME_MAX {
        return Err("Ensure this field has no more than 150 characters.");
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '+' | '_' | '-'))
    {
        return Err("Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.");
    }
    Ok(())
}

fn clip(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_comes_from_the_email_local_part() {
        assert_eq!(
            username_base("John.Doe@gmail.com", Some("John")),
            "john.doe"
        );
        assert_eq!(username_base("josé@x.es", None), "jose");
    }

    #[test]
    fn username_falls_back_to_first_name_then_user() {
        assert_eq!(username_base("", Some("José María")), "jose_maria");
        assert_eq!(username_base("太郎@x.jp", Some("太郎")), "user");
        assert_eq!(username_base("", None), "user");
    }

    #[test]
    fn username_base_is_bounded() {
        let long = "a".repeat(400);
        assert_eq!(
            username_base(&format!("{long}@x.com"), None).len(),
            USERNAME_MAX - 8
        );
    }

    #[test]
    fn chosen_usernames_are_validated() {
        assert!(validate_username("john_doe+1@x.y-z").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("john doe").is_err());
        assert!(validate_username(&"a".repeat(151)).is_err());
    }

    #[test]
    fn new_user_copies_the_profile() {
        let profile = Profile {
            subject: "1".into(),
            email: Some("ann@example.com".into()),
            email_verified: true,
            first_name: Some("Ann".into()),
            last_name: Some("Lee".into()),
            picture: None,
        };
        let user = NewUser::from_profile(&profile);
        assert_eq!(user.username_base, "ann");
        assert_eq!(user.first_name, "Ann");
        assert_eq!(user.picture, "");
    }
}
