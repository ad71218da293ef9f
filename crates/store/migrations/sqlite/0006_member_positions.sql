-- Each membership's position in its account (0, 1, 2, ... in the order
-- members joined) and each account's member count, kept by a trigger, so a
-- page of the unfiltered users list is an index range, wherever it starts.
ALTER TABLE accounts ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN position BIGINT;

UPDATE memberships SET position = ranked.pos
FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY seq) - 1 AS pos FROM memberships) AS ranked
WHERE ranked.seq = memberships.seq;
UPDATE accounts SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.account_id = accounts.id);
CREATE UNIQUE INDEX memberships_by_position ON memberships (account_id, position);

CREATE TRIGGER memberships_position AFTER INSERT ON memberships
BEGIN
    UPDATE accounts SET member_count = member_count + 1 WHERE id = NEW.account_id;
    UPDATE memberships SET position = (SELECT member_count - 1 FROM accounts WHERE id = NEW.account_id)
    WHERE seq = NEW.seq;
END;
