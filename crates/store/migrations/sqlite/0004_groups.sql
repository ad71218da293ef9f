-- Groups. "Everyone" and "Administrators" exist in every account; their
-- members are derived (every open member; the active administrators).
CREATE TABLE groups (
    id                    INTEGER PRIMARY KEY,
    account_id            BIGINT NOT NULL REFERENCES accounts(id),
    name                  TEXT NOT NULL,
    name_norm             TEXT NOT NULL,
    group_type            TEXT NOT NULL,
    permission_profile_id BIGINT REFERENCES permission_profiles(id),
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    version               BIGINT NOT NULL DEFAULT 1,
    UNIQUE (account_id, name_norm)
);
CREATE INDEX groups_by_account ON groups (account_id, id);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups(id),
    user_id  TEXT NOT NULL REFERENCES users(id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

ALTER TABLE permission_profiles ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

INSERT INTO groups (account_id, name, name_norm, group_type, created_at, updated_at)
    SELECT id, 'Everyone', 'everyone', 'EveryoneGroup', created_at, created_at FROM accounts;
INSERT INTO groups (account_id, name, name_norm, group_type, created_at, updated_at)
    SELECT id, 'Administrators', 'administrators', 'AdminGroup', created_at, created_at FROM accounts;
