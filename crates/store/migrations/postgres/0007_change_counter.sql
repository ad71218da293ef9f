-- A counter every node bumps after each write request, so the nodes on one
-- database may cache what they read: a node serves a cached answer only
-- while the counter is where it was when the answer was loaded. A sequence,
-- because nextval never waits on a lock or a transaction.
CREATE SEQUENCE changes;
