//! Turning sqlx errors into [`StoreError`]s.

use latchkey_core::StoreError;
use sqlx::error::ErrorKind;

/// The unique index on `lower(users.username)`.
pub(crate) const USERNAME_KEY: &str = "users_username_lower_key";
/// The partial unique index on `lower(users.email)`.
pub(crate) const EMAIL_KEY: &str = "users_email_lower_key";
/// The primary key of `identities`: `(provider, subject)`.
pub(crate) const IDENTITY_KEY: &str = "identities_pkey";

/// Any database failure: the message is for logs only.
pub(crate) fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// Whether `err` broke one of the unique rules named in `names`, by constraint (or unique index)
/// name, never by message text.
///
/// Postgres reports the name. SQLite does not, so there any unique violation matches: callers
/// only ask where the statement can break nothing but the rules they name. (On SQLite writers
/// are serialised, so the races these checks exist for cannot happen there anyway.)
pub(crate) fn is_unique_violation(err: &sqlx::Error, names: &[&str]) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    db.kind() == ErrorKind::UniqueViolation
        && db.constraint().is_none_or(|name| names.contains(&name))
}
