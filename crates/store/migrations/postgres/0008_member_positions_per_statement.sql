-- A multi-row insert of memberships takes its positions itself, with one
-- update of the account's count (Roster sets `position`): the row trigger
-- updated the account row once per row, and in one transaction each update
-- of a row already updated costs more than the last. The trigger now fills
-- in only a position that is missing.
CREATE OR REPLACE FUNCTION memberships_position() RETURNS trigger AS $$
BEGIN
    IF NEW.position IS NULL THEN
        UPDATE accounts SET member_count = member_count + 1 WHERE id = NEW.account_id
        RETURNING member_count - 1 INTO NEW.position;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
