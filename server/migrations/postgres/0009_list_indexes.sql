-- Indexes for keyset pages of the run list (#16): every filter combination
-- the list page offers (graph type, status, both) in each of its sorts
-- (newest first; slowest first), each ending in the sort's tie-breakers so a
-- page is one index range after the cursor. See server/src/store/run_list.rs
-- and the query-plan test in server/tests/api/scale.rs.
DROP INDEX executions_by_graph_type;
DROP INDEX executions_by_status;
DROP INDEX executions_by_duration;
CREATE INDEX executions_by_graph_type ON executions (graph_type, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_status ON executions (status, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_type_and_status
    ON executions (graph_type, status, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_duration
    ON executions (total_duration_ms DESC, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_type_and_duration
    ON executions (graph_type, total_duration_ms DESC, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_status_and_duration
    ON executions (status, total_duration_ms DESC, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_type_status_and_duration
    ON executions (graph_type, status, total_duration_ms DESC, start_time DESC, execution_id DESC);
