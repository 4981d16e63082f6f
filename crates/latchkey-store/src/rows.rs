//! Rows as they come out of the database, and the column lists that produce them.
//!
//! Columns are aliased (`u_…` for users, `s_…` for sessions) so that one row type decodes both
//! a single-table select and a join.

use latchkey_core::{Session, User};

/// The user columns of `users u`, aliased for [`UserRow`]. Without an argument the columns are
/// unqualified (SQLite's `RETURNING` accepts no table qualifier).
macro_rules! user_columns {
    () => {
        "id AS u_id, username AS u_username, email AS u_email, first_name AS u_first_name, \
         last_name AS u_last_name, picture AS u_picture, is_active AS u_is_active"
    };
    (u) => {
        "u.id AS u_id, u.username AS u_username, u.email AS u_email, \
         u.first_name AS u_first_name, u.last_name AS u_last_name, u.picture AS u_picture, \
         u.is_active AS u_is_active"
    };
}

/// The session columns of `sessions s`, aliased for [`SessionRow`]; unqualified without an
/// argument, as [`user_columns!`].
macro_rules! session_columns {
    () => {
        "id AS s_id, user_id AS s_user_id, generation AS s_generation, \
         rotated_at AS s_rotated_at, created_at AS s_created_at, last_used_at AS s_last_used_at, \
         expires_at AS s_expires_at, revoked_at AS s_revoked_at, \
         revoked_reason AS s_revoked_reason, user_agent AS s_user_agent, ip AS s_ip"
    };
    (s) => {
        "s.id AS s_id, s.user_id AS s_user_id, s.generation AS s_generation, \
         s.rotated_at AS s_rotated_at, s.created_at AS s_created_at, \
         s.last_used_at AS s_last_used_at, s.expires_at AS s_expires_at, \
         s.revoked_at AS s_revoked_at, s.revoked_reason AS s_revoked_reason, \
         s.user_agent AS s_user_agent, s.ip AS s_ip"
    };
}

pub(crate) use {session_columns, user_columns};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    u_id: i64,
    u_username: String,
    u_email: String,
    u_first_name: String,
    u_last_name: String,
    u_picture: String,
    u_is_active: bool,
}

/// A user with whether their e-mail was verified (for linking decisions).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EmailOwnerRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    pub(crate) email_verified: bool,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            pk: row.u_id,
            username: row.u_username,
            email: row.u_email,
            first_name: row.u_first_name,
            last_name: row.u_last_name,
            picture: row.u_picture,
            is_active: row.u_is_active,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    s_id: String,
    s_user_id: i64,
    s_generation: i64,
    s_rotated_at: i64,
    s_created_at: i64,
    s_last_used_at: i64,
    s_expires_at: i64,
    s_revoked_at: Option<i64>,
    s_revoked_reason: Option<String>,
    s_user_agent: String,
    s_ip: String,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Self {
        Self {
            id: row.s_id,
            user_id: row.s_user_id,
            generation: row.s_generation,
            rotated_at: row.s_rotated_at,
            created_at: row.s_created_at,
            last_used_at: row.s_last_used_at,
            expires_at: row.s_expires_at,
            revoked_at: row.s_revoked_at,
            revoked_reason: row.s_revoked_reason,
            user_agent: row.s_user_agent,
            ip: row.s_ip,
        }
    }
}

/// A user and one of their sessions (`sessions s JOIN users u`).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserSessionRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    #[sqlx(flatten)]
    pub(crate) session: SessionRow,
}

/// A user and whether a given session of theirs is live.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserLiveRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    pub(crate) session_live: bool,
}
