-- A searched list (#17) picks its page among the matched runs (thousands
-- for a common word) by their start time. Read from this index alone, a
-- few megabytes that stay cached, rather than from the wide run rows (one
-- heap page per run, mostly not in shared buffers): on 100,000 search runs,
-- the page of a word matching 3,700 runs took 11-25 ms instead of 18-106 ms
-- (BENCHMARKS.md, "Search and alerts, fourth pass"). SQLite's planner keeps
-- its primary key for these lookups, so it has no such index.
CREATE INDEX executions_page_by_id ON executions (execution_id) INCLUDE (start_time);
