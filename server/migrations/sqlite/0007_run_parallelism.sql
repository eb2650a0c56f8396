-- What a finished run keeps of its parallelism for the statistics, worked
-- out from its own events when it finishes (and again when records reach
-- it after that): its average parallelism, and for a run that ran nodes side
-- by side the nodes on its critical path as a JSON array of [node_id, ms].
-- NULL for runs still running and for runs finished before this column.
ALTER TABLE executions ADD COLUMN parallelism REAL;
ALTER TABLE executions ADD COLUMN critical_nodes TEXT;
