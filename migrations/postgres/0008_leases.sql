-- vouch schema 8: leader leases (app/leader.h). The server holding the session advisory lock of
-- lease `name` raises `epoch` by one when it takes it; a singleton job reads the row FOR UPDATE
-- inside its own transaction and aborts when the epoch moved, so a paused former holder cannot act.
CREATE TABLE leases (
  name        TEXT   PRIMARY KEY,
  epoch       BIGINT NOT NULL,
  holder      TEXT   NOT NULL,
  acquired_ms BIGINT NOT NULL
);
