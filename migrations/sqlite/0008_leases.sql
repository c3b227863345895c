-- vouch schema 8: leader leases (app/leader.h). A server that takes the lease named `name` raises
-- `epoch` by one in the same step; a singleton job compares the epoch it was given with this row
-- inside its own transaction and aborts when it moved, so a former holder cannot act. With SQLite
-- one server holds every lease, so the rows only change when a test moves them.
CREATE TABLE leases (
  name        TEXT    PRIMARY KEY,
  epoch       INTEGER NOT NULL,
  holder      TEXT    NOT NULL,
  acquired_ms INTEGER NOT NULL
);
