-- vouch schema 18 (issue 13, the webhook burst): two outbox indexes that delivery reads through on
-- every attempt. Without them both reads scanned the whole outbox (every event of the retention
-- period): the payload of a delivery's event, by its seq; and the oldest row not yet fanned out
-- (the fan-out's next rows, and the check that keeps each subscription's deliveries in event
-- order), which now reads the first entry of a partial index of the rows still to fan out.
CREATE INDEX outbox_event ON outbox(event_seq);
CREATE INDEX outbox_unfanned ON outbox(id) WHERE delivered_ms IS NULL;
