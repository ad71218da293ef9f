-- Versions for ETags and If-Match; stored responses for Idempotency-Key.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE memberships ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       BIGINT,
    content_type TEXT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
