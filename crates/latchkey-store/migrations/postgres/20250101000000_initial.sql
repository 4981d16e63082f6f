-- latchkey's schema, Postgres flavour. The SQLite flavour (migrations/sqlite) has the same
-- tables, columns, index names and meaning; keep the two in step.
--
-- Times are whole unix seconds (BIGINT), as everywhere in latchkey: no time zones, no parsing,
-- and the store never reads the clock (`now` is always a parameter).
-- Index and constraint names are spelled out because the store maps unique violations by name
-- (src/error.rs): a concurrent first sign-in that loses a race on one of them is retried.

CREATE TABLE users (
    -- A sequence never hands out an id twice, so an access token that names a deleted user can
    -- never resolve to somebody else.
    id            BIGSERIAL PRIMARY KEY,
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
    created_at    BIGINT  NOT NULL,
    last_login_at BIGINT
);

-- Usernames and e-mails are unique case-insensitively. Queries must use the same expression,
-- lower(column), for the planner to use these indexes. (Expression indexes rather than citext:
-- no extension to install, and the same SQL runs on SQLite.)
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
-- Partial: any number of users may have no e-mail.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email <> '';

-- One row per (provider, provider's subject): how a person signs in. A user may have several
-- (linked by verified e-mail).
CREATE TABLE identities (
    provider   TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user_id_idx ON identities (user_id);

-- One row per signed-in device. The row holds no secret: refresh tokens are signed JWTs naming
-- the session id and a generation; `generation` is the current one and `rotated_at` when it
-- became current (see latchkey_core::decide_refresh). Rotation is a compare-and-set on
-- `generation`, so it happens at most once per generation however many nodes race.
CREATE TABLE sessions (
    id             TEXT   NOT NULL,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    generation     BIGINT NOT NULL DEFAULT 1,
    rotated_at     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    -- Slides forward on each rotation.
    expires_at     BIGINT NOT NULL,
    -- Both NULL while the session is not revoked. Revoked rows are kept (not deleted) so that a
    -- replayed token is answered "revoked", not "unknown".
    revoked_at     BIGINT,
    revoked_reason TEXT,
    user_agent     TEXT   NOT NULL DEFAULT '',
    ip             TEXT   NOT NULL DEFAULT '',
    CONSTRAINT sessions_pkey PRIMARY KEY (id)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
