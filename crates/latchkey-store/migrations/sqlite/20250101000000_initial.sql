-- latchkey's schema, SQLite flavour. The Postgres flavour (migrations/postgres) has the same
-- tables, columns, index names and meaning; keep the two in step.
--
-- Times are whole unix seconds (INTEGER), as everywhere in latchkey: no time zones, no parsing,
-- and the store never reads the clock (`now` is always a parameter).
-- Index and constraint names are spelled out because the store maps unique violations by name
-- (Postgres reports the name; SQLite does not, see src/error.rs).

CREATE TABLE users (
    -- AUTOINCREMENT: the id of a deleted user is never handed out again, so an access token that
    -- names a deleted user can never resolve to somebody else.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    -- '' when the provider gave none (not NULL: the API always returns a string).
    email         TEXT    NOT NULL DEFAULT '',
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    picture       TEXT    NOT NULL DEFAULT '',
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    -- Whether the provider that created this user said the e-mail is verified. Another
    -- provider's identity is linked to this user by e-mail only when both say so: otherwise
    -- someone could create an account with a victim's unverified address, wait for the
    -- victim to sign in with a verified one, and share the account (pre-account takeover).
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER
);

-- Usernames and e-mails are unique case-insensitively (Django compares usernames exactly, but
-- "Ann" and "ann" as two people is a support ticket waiting to happen). Queries must use the
-- same expression, lower(column), for SQLite to use these indexes. SQLite's lower() folds ASCII
-- only; usernames are ASCII by construction (latchkey_core::validate_username).
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
-- Partial: any number of users may have no e-mail.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email <> '';

-- One row per (provider, provider's subject): how a person signs in. A user may have several
-- (linked by verified e-mail).
CREATE TABLE identities (
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user_id_idx ON identities (user_id);

-- One row per signed-in device. The row holds no secret: refresh tokens are signed JWTs naming
-- the session id and a generation; `generation` is the current one and `rotated_at` when it
-- became current (see latchkey_core::decide_refresh).
CREATE TABLE sessions (
    id             TEXT    NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    generation     INTEGER NOT NULL DEFAULT 1,
    rotated_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    -- Slides forward on each rotation.
    expires_at     INTEGER NOT NULL,
    -- Both NULL while the session is not revoked. Revoked rows are kept (not deleted) so that a
    -- replayed token is answered "revoked", not "unknown".
    revoked_at     INTEGER,
    revoked_reason TEXT,
    user_agent     TEXT    NOT NULL DEFAULT '',
    ip             TEXT    NOT NULL DEFAULT '',
    CONSTRAINT sessions_pkey PRIMARY KEY (id)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
