-- User settings (per membership), custom settings, the personal profile,
-- notification opt-ins, Akana sessions and site security settings.
ALTER TABLE memberships ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN personal_profile TEXT;
-- NULL: every group of the catalog (the default); else a JSON array.
ALTER TABLE users ADD COLUMN opted_notifications TEXT;

CREATE TABLE custom_settings (
    id         INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    group_key  TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    UNIQUE (account_id, user_id, group_key, name)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE site_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE notification_groups (
    name       TEXT PRIMARY KEY,
    builtin    BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO notification_groups (name, builtin, created_at) VALUES
    ('com.soa.notification.type.ticket.change', 1, 0),
    ('com.soa.notification.type.app.alert', 1, 0),
    ('com.soa.notification.type.post.comment', 1, 0),
    ('com.soa.notification.type.contract.state.change', 1, 0),
    ('com.soa.notification.type.appteam', 1, 0),
    ('com.soa.notification.type.app.lifecycle', 1, 0),
    ('com.soa.notification.type.news.update', 1, 0),
    ('com.soa.notification.type.app.post', 1, 0);
