-- A second change counter, moved only by the writes that may change who a
-- token is or what a caller may do (not by writes of users' settings or
-- custom settings), so that the nodes' cached authentication outlives the
-- stream of settings writes. `changes` still moves on every write.
CREATE SEQUENCE auth_changes;
