-- Day and week sums of the hourly aggregates (#16), so statistics over
-- months read a row per day or week where they read a row per hour: the
-- hourly tables stay, and answer the hours at a window's edges. Each level
-- table has its hourly table's columns; its `hour` is the first hour of the
-- day (UTC) or of the week (168 hours counted from the Unix epoch, as the
-- statistics' time buckets are). `server/src/store/aggregate_levels.rs`
-- reads them; `tracevis check` recounts them from the hourly rows.
--
-- Triggers on the hourly tables keep them, so every writer of those
-- (the run triggers of 0008, the node statistics of each batch, moves and
-- retention) keeps the levels right without code of its own. Keys of hourly
-- rows are never updated (a move is a subtraction and an addition), so an
-- update passes on the change of its values. Rows that reach zero stay
-- until retention removes them; the reads skip them.
--
-- Written with a generator from one list of tables, so the five tables'
-- statements are alike on both backends.

CREATE TABLE run_stats_days (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    status TEXT NOT NULL,
    runs BIGINT NOT NULL,
    nodes BIGINT NOT NULL,
    cached BIGINT NOT NULL,
    llm_calls REAL NOT NULL,
    tokens REAL NOT NULL,
    parallel_runs BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, status)
) WITHOUT ROWID;
CREATE INDEX run_stats_days_by_hour ON run_stats_days (hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs, graph_type);
INSERT INTO run_stats_days (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
SELECT graph_type, hour - ((hour % 24) + 24) % 24, status, SUM(runs), SUM(nodes), SUM(cached), SUM(llm_calls), SUM(tokens), SUM(parallel_runs)
FROM run_stats GROUP BY 1, 2, 3;

CREATE TABLE run_stats_weeks (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    status TEXT NOT NULL,
    runs BIGINT NOT NULL,
    nodes BIGINT NOT NULL,
    cached BIGINT NOT NULL,
    llm_calls REAL NOT NULL,
    tokens REAL NOT NULL,
    parallel_runs BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, status)
) WITHOUT ROWID;
CREATE INDEX run_stats_weeks_by_hour ON run_stats_weeks (hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs, graph_type);
INSERT INTO run_stats_weeks (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
SELECT graph_type, hour - ((hour % 168) + 168) % 168, status, SUM(runs), SUM(nodes), SUM(cached), SUM(llm_calls), SUM(tokens), SUM(parallel_runs)
FROM run_stats GROUP BY 1, 2, 3;

CREATE TRIGGER run_stats_levels_on_insert AFTER INSERT ON run_stats
BEGIN
    INSERT INTO run_stats_days (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.status, new.runs, new.nodes, new.cached, new.llm_calls, new.tokens, new.parallel_runs WHERE true
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs, nodes = nodes + excluded.nodes, cached = cached + excluded.cached, llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens, parallel_runs = parallel_runs + excluded.parallel_runs;
    INSERT INTO run_stats_weeks (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.status, new.runs, new.nodes, new.cached, new.llm_calls, new.tokens, new.parallel_runs WHERE true
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs, nodes = nodes + excluded.nodes, cached = cached + excluded.cached, llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens, parallel_runs = parallel_runs + excluded.parallel_runs;
END;

CREATE TRIGGER run_stats_levels_on_update AFTER UPDATE OF runs, nodes, cached, llm_calls, tokens, parallel_runs ON run_stats
BEGIN
    INSERT INTO run_stats_days (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.status, new.runs - old.runs, new.nodes - old.nodes, new.cached - old.cached, new.llm_calls - old.llm_calls, new.tokens - old.tokens, new.parallel_runs - old.parallel_runs WHERE true
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs, nodes = nodes + excluded.nodes, cached = cached + excluded.cached, llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens, parallel_runs = parallel_runs + excluded.parallel_runs;
    INSERT INTO run_stats_weeks (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.status, new.runs - old.runs, new.nodes - old.nodes, new.cached - old.cached, new.llm_calls - old.llm_calls, new.tokens - old.tokens, new.parallel_runs - old.parallel_runs WHERE true
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs, nodes = nodes + excluded.nodes, cached = cached + excluded.cached, llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens, parallel_runs = parallel_runs + excluded.parallel_runs;
END;

CREATE TRIGGER run_stats_levels_on_delete AFTER DELETE ON run_stats
BEGIN
    INSERT INTO run_stats_days (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT old.graph_type, old.hour - ((old.hour % 24) + 24) % 24, old.status, -old.runs, -old.nodes, -old.cached, -old.llm_calls, -old.tokens, -old.parallel_runs WHERE true
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs, nodes = nodes + excluded.nodes, cached = cached + excluded.cached, llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens, parallel_runs = parallel_runs + excluded.parallel_runs;
    INSERT INTO run_stats_weeks (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT old.graph_type, old.hour - ((old.hour % 168) + 168) % 168, old.status, -old.runs, -old.nodes, -old.cached, -old.llm_calls, -old.tokens, -old.parallel_runs WHERE true
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs, nodes = nodes + excluded.nodes, cached = cached + excluded.cached, llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens, parallel_runs = parallel_runs + excluded.parallel_runs;
END;

CREATE TABLE run_buckets_days (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    measure TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, measure, bucket)
) WITHOUT ROWID;
CREATE INDEX run_buckets_days_by_hour ON run_buckets_days (hour, measure, bucket, count, graph_type);
INSERT INTO run_buckets_days (graph_type, hour, measure, bucket, count)
SELECT graph_type, hour - ((hour % 24) + 24) % 24, measure, bucket, SUM(count)
FROM run_buckets GROUP BY 1, 2, 3, 4;

CREATE TABLE run_buckets_weeks (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    measure TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, measure, bucket)
) WITHOUT ROWID;
CREATE INDEX run_buckets_weeks_by_hour ON run_buckets_weeks (hour, measure, bucket, count, graph_type);
INSERT INTO run_buckets_weeks (graph_type, hour, measure, bucket, count)
SELECT graph_type, hour - ((hour % 168) + 168) % 168, measure, bucket, SUM(count)
FROM run_buckets GROUP BY 1, 2, 3, 4;

CREATE TRIGGER run_buckets_levels_on_insert AFTER INSERT ON run_buckets
BEGIN
    INSERT INTO run_buckets_days (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.measure, new.bucket, new.count WHERE true
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO run_buckets_weeks (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.measure, new.bucket, new.count WHERE true
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER run_buckets_levels_on_update AFTER UPDATE OF count ON run_buckets
BEGIN
    INSERT INTO run_buckets_days (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.measure, new.bucket, new.count - old.count WHERE true
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO run_buckets_weeks (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.measure, new.bucket, new.count - old.count WHERE true
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER run_buckets_levels_on_delete AFTER DELETE ON run_buckets
BEGIN
    INSERT INTO run_buckets_days (graph_type, hour, measure, bucket, count)
    SELECT old.graph_type, old.hour - ((old.hour % 24) + 24) % 24, old.measure, old.bucket, -old.count WHERE true
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO run_buckets_weeks (graph_type, hour, measure, bucket, count)
    SELECT old.graph_type, old.hour - ((old.hour % 168) + 168) % 168, old.measure, old.bucket, -old.count WHERE true
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
END;

CREATE TABLE critical_path_stats_days (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    runs BIGINT NOT NULL,
    ms REAL NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id)
) WITHOUT ROWID;
CREATE INDEX critical_path_stats_days_by_hour ON critical_path_stats_days (hour, node_id, runs, ms, graph_type);
INSERT INTO critical_path_stats_days (graph_type, hour, node_id, runs, ms)
SELECT graph_type, hour - ((hour % 24) + 24) % 24, node_id, SUM(runs), SUM(ms)
FROM critical_path_stats GROUP BY 1, 2, 3;

CREATE TABLE critical_path_stats_weeks (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    runs BIGINT NOT NULL,
    ms REAL NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id)
) WITHOUT ROWID;
CREATE INDEX critical_path_stats_weeks_by_hour ON critical_path_stats_weeks (hour, node_id, runs, ms, graph_type);
INSERT INTO critical_path_stats_weeks (graph_type, hour, node_id, runs, ms)
SELECT graph_type, hour - ((hour % 168) + 168) % 168, node_id, SUM(runs), SUM(ms)
FROM critical_path_stats GROUP BY 1, 2, 3;

CREATE TRIGGER critical_path_stats_levels_on_insert AFTER INSERT ON critical_path_stats
BEGIN
    INSERT INTO critical_path_stats_days (graph_type, hour, node_id, runs, ms)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.node_id, new.runs, new.ms WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
    INSERT INTO critical_path_stats_weeks (graph_type, hour, node_id, runs, ms)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.node_id, new.runs, new.ms WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
END;

CREATE TRIGGER critical_path_stats_levels_on_update AFTER UPDATE OF runs, ms ON critical_path_stats
BEGIN
    INSERT INTO critical_path_stats_days (graph_type, hour, node_id, runs, ms)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.node_id, new.runs - old.runs, new.ms - old.ms WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
    INSERT INTO critical_path_stats_weeks (graph_type, hour, node_id, runs, ms)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.node_id, new.runs - old.runs, new.ms - old.ms WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
END;

CREATE TRIGGER critical_path_stats_levels_on_delete AFTER DELETE ON critical_path_stats
BEGIN
    INSERT INTO critical_path_stats_days (graph_type, hour, node_id, runs, ms)
    SELECT old.graph_type, old.hour - ((old.hour % 24) + 24) % 24, old.node_id, -old.runs, -old.ms WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
    INSERT INTO critical_path_stats_weeks (graph_type, hour, node_id, runs, ms)
    SELECT old.graph_type, old.hour - ((old.hour % 168) + 168) % 168, old.node_id, -old.runs, -old.ms WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
END;

CREATE TABLE node_stats_days (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    visits BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    cached BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id)
) WITHOUT ROWID;
CREATE INDEX node_stats_days_by_hour ON node_stats_days (hour, node_id, visits, failed, cached, graph_type);
INSERT INTO node_stats_days (graph_type, hour, node_id, visits, failed, cached)
SELECT graph_type, hour - ((hour % 24) + 24) % 24, node_id, SUM(visits), SUM(failed), SUM(cached)
FROM node_stats GROUP BY 1, 2, 3;

CREATE TABLE node_stats_weeks (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    visits BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    cached BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id)
) WITHOUT ROWID;
CREATE INDEX node_stats_weeks_by_hour ON node_stats_weeks (hour, node_id, visits, failed, cached, graph_type);
INSERT INTO node_stats_weeks (graph_type, hour, node_id, visits, failed, cached)
SELECT graph_type, hour - ((hour % 168) + 168) % 168, node_id, SUM(visits), SUM(failed), SUM(cached)
FROM node_stats GROUP BY 1, 2, 3;

CREATE TRIGGER node_stats_levels_on_insert AFTER INSERT ON node_stats
BEGIN
    INSERT INTO node_stats_days (graph_type, hour, node_id, visits, failed, cached)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.node_id, new.visits, new.failed, new.cached WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = visits + excluded.visits, failed = failed + excluded.failed, cached = cached + excluded.cached;
    INSERT INTO node_stats_weeks (graph_type, hour, node_id, visits, failed, cached)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.node_id, new.visits, new.failed, new.cached WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = visits + excluded.visits, failed = failed + excluded.failed, cached = cached + excluded.cached;
END;

CREATE TRIGGER node_stats_levels_on_update AFTER UPDATE OF visits, failed, cached ON node_stats
BEGIN
    INSERT INTO node_stats_days (graph_type, hour, node_id, visits, failed, cached)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.node_id, new.visits - old.visits, new.failed - old.failed, new.cached - old.cached WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = visits + excluded.visits, failed = failed + excluded.failed, cached = cached + excluded.cached;
    INSERT INTO node_stats_weeks (graph_type, hour, node_id, visits, failed, cached)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.node_id, new.visits - old.visits, new.failed - old.failed, new.cached - old.cached WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = visits + excluded.visits, failed = failed + excluded.failed, cached = cached + excluded.cached;
END;

CREATE TRIGGER node_stats_levels_on_delete AFTER DELETE ON node_stats
BEGIN
    INSERT INTO node_stats_days (graph_type, hour, node_id, visits, failed, cached)
    SELECT old.graph_type, old.hour - ((old.hour % 24) + 24) % 24, old.node_id, -old.visits, -old.failed, -old.cached WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = visits + excluded.visits, failed = failed + excluded.failed, cached = cached + excluded.cached;
    INSERT INTO node_stats_weeks (graph_type, hour, node_id, visits, failed, cached)
    SELECT old.graph_type, old.hour - ((old.hour % 168) + 168) % 168, old.node_id, -old.visits, -old.failed, -old.cached WHERE true
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = visits + excluded.visits, failed = failed + excluded.failed, cached = cached + excluded.cached;
END;

CREATE TABLE node_duration_buckets_days (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id, bucket)
) WITHOUT ROWID;
CREATE INDEX node_duration_buckets_days_by_hour ON node_duration_buckets_days (hour, node_id, bucket, count, graph_type);
INSERT INTO node_duration_buckets_days (graph_type, hour, node_id, bucket, count)
SELECT graph_type, hour - ((hour % 24) + 24) % 24, node_id, bucket, SUM(count)
FROM node_duration_buckets GROUP BY 1, 2, 3, 4;

CREATE TABLE node_duration_buckets_weeks (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id, bucket)
) WITHOUT ROWID;
CREATE INDEX node_duration_buckets_weeks_by_hour ON node_duration_buckets_weeks (hour, node_id, bucket, count, graph_type);
INSERT INTO node_duration_buckets_weeks (graph_type, hour, node_id, bucket, count)
SELECT graph_type, hour - ((hour % 168) + 168) % 168, node_id, bucket, SUM(count)
FROM node_duration_buckets GROUP BY 1, 2, 3, 4;

CREATE TRIGGER node_duration_buckets_levels_on_insert AFTER INSERT ON node_duration_buckets
BEGIN
    INSERT INTO node_duration_buckets_days (graph_type, hour, node_id, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.node_id, new.bucket, new.count WHERE true
    ON CONFLICT (graph_type, hour, node_id, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO node_duration_buckets_weeks (graph_type, hour, node_id, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.node_id, new.bucket, new.count WHERE true
    ON CONFLICT (graph_type, hour, node_id, bucket) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER node_duration_buckets_levels_on_update AFTER UPDATE OF count ON node_duration_buckets
BEGIN
    INSERT INTO node_duration_buckets_days (graph_type, hour, node_id, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 24) + 24) % 24, new.node_id, new.bucket, new.count - old.count WHERE true
    ON CONFLICT (graph_type, hour, node_id, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO node_duration_buckets_weeks (graph_type, hour, node_id, bucket, count)
    SELECT new.graph_type, new.hour - ((new.hour % 168) + 168) % 168, new.node_id, new.bucket, new.count - old.count WHERE true
    ON CONFLICT (graph_type, hour, node_id, bucket) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER node_duration_buckets_levels_on_delete AFTER DELETE ON node_duration_buckets
BEGIN
    INSERT INTO node_duration_buckets_days (graph_type, hour, node_id, bucket, count)
    SELECT old.graph_type, old.hour - ((old.hour % 24) + 24) % 24, old.node_id, old.bucket, -old.count WHERE true
    ON CONFLICT (graph_type, hour, node_id, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO node_duration_buckets_weeks (graph_type, hour, node_id, bucket, count)
    SELECT old.graph_type, old.hour - ((old.hour % 168) + 168) % 168, old.node_id, old.bucket, -old.count WHERE true
    ON CONFLICT (graph_type, hour, node_id, bucket) DO UPDATE SET count = count + excluded.count;
END;
