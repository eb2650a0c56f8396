-- The visits a node event follows (API field `parents`): a JSON array of
-- [event_id, seq] pairs, resolved when the event was stored; NULL for the
-- events that name none (every event stored before this column existed).
ALTER TABLE node_events ADD COLUMN parents TEXT;
