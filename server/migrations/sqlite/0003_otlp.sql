-- Runs born from OpenTelemetry spans have no explicit end when their
-- producer dies (the run span never comes): past this time (microseconds
-- since the epoch) without a new span, a running run is marked failed.
-- NULL for runs from the JSON API.
ALTER TABLE executions ADD COLUMN quiet_deadline BIGINT;
CREATE INDEX executions_by_quiet_deadline ON executions (quiet_deadline)
    WHERE quiet_deadline IS NOT NULL AND status = 'running';
