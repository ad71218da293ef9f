-- Roster schema v1 (SQLite). Times are microseconds since the Unix epoch.
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_norm    TEXT NOT NULL UNIQUE,
    user_name     TEXT NOT NULL,
    first_name    TEXT,
    middle_name   TEXT,
    last_name     TEXT,
    suffix_name   TEXT,
    title         TEXT,
    job_title     TEXT,
    company       TEXT,
    country_code  TEXT,
    work_address  TEXT,
    home_address  TEXT,
    password_hash TEXT,
    site_admin    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE permission_profiles (
    id                 INTEGER PRIMARY KEY,
    account_id         BIGINT NOT NULL REFERENCES accounts(id),
    name               TEXT NOT NULL,
    name_norm          TEXT NOT NULL,
    builtin            TEXT,
    account_management BIGINT NOT NULL,
    settings           TEXT NOT NULL DEFAULT '{}',
    modified_by        TEXT,
    modified_at        BIGINT NOT NULL,
    UNIQUE (account_id, name_norm)
);

CREATE TABLE memberships (
    seq           INTEGER PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    membership_id TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    profile_id    BIGINT NOT NULL REFERENCES permission_profiles(id),
    added_at      BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (account_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);
CREATE INDEX memberships_by_account ON memberships (account_id, seq);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id);
