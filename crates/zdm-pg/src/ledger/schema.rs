//! The ledger's own schema, as an ordered list of upgrade steps. `ledger_version` records how far
//! a database has got; `zdm init` (and every writing command) applies the missing steps, each in a
//! transaction with its version bump, so an upgrade is all-or-nothing per step and a newer zdm can
//! take over a ledger written by an older one. Steps are only ever appended, never edited.

/// `{s}` stands for the quoted ledger schema.
pub const STEPS: &[&str] = &[
    // 1: migrations and the append-only event log.
    r#"
CREATE TABLE {s}.migrations (
    id              text PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    checksum        text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('operations', 'sql')),
    state           text NOT NULL CHECK (state IN ('running', 'expanded', 'completing', 'completed',
                                                   'rolling_back', 'rolled_back', 'failed')),
    failed_phase    text,
    resumable       boolean,
    migration       jsonb NOT NULL,
    parent          text REFERENCES {s}.migrations (id),
    version_schema  text,
    baselined       boolean NOT NULL DEFAULT false,
    progress        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at      timestamptz,
    expanded_at     timestamptz,
    completing_at   timestamptz,
    completed_at    timestamptz,
    rolling_back_at timestamptz,
    rolled_back_at  timestamptz,
    failed_at       timestamptz,
    duration_ms     bigint,
    applied_by_user text NOT NULL DEFAULT current_user,
    applied_by_host text,
    zdm_version     text,
    last_error      text,
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE {s}.events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id text,
    phase        text NOT NULL,
    level        text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message      text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}',
    db_user      text NOT NULL DEFAULT current_user,
    at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_migration_idx ON {s}.events (migration_id, id);
CREATE FUNCTION {s}.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'the zdm event log is append-only';
END
$fn$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {s}.events
    FOR EACH ROW EXECUTE FUNCTION {s}.events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {s}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.events_append_only();
"#,
    // 2: per-table backfill checkpoints of the expand/contract engine, so a killed backfill resumes.
    r#"
CREATE TABLE {s}.backfill_progress (
    migration_id text NOT NULL REFERENCES {s}.migrations (id),
    table_name   text NOT NULL,
    last_key     jsonb,
    rows_done    bigint NOT NULL DEFAULT 0,
    rows_total   bigint,
    finished     boolean NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (migration_id, table_name)
);
"#,
    // 3: the expand/contract engine: the plan stored at start (complete and rollback run it), and
    // the function dual-write triggers use to tell which version wrote a row.
    r#"
ALTER TABLE {s}.migrations ADD COLUMN plan jsonb;
CREATE FUNCTION {s}.is_new_version(version_schema text) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    explicit text := nullif(current_setting('zdm.version', true), '');
BEGIN
    -- An explicit session/transaction setting wins (needed behind transaction-pooling proxies).
    IF explicit IS NOT NULL THEN
        RETURN explicit = version_schema;
    END IF;
    -- Otherwise the first schema of the effective search path, as the server resolved it.
    RETURN coalesce((current_schemas(false))[1] = version_schema, false);
END
$fn$;
"#,
    // 4: `zdm move` jobs. The job row holds the plan (conversion decisions), the binlog
    // positions (where the copy began, where it ended, what has been applied: updated in the
    // same transaction as the changes it covers) and the stop flag; chunks are claimed by
    // workers with leases (FOR UPDATE SKIP LOCKED), each chunk's rows and its `done` mark
    // commit together.
    r#"
CREATE TABLE {s}.move_jobs (
    id                 text PRIMARY KEY,
    source_url         text NOT NULL,
    source_database    text NOT NULL,
    source_flavor      text NOT NULL,
    target_schema      text NOT NULL,
    created_schema     boolean NOT NULL DEFAULT false,
    phase              text NOT NULL CHECK (phase IN ('copying', 'following', 'stopped', 'failed')),
    plan               jsonb NOT NULL,
    options            jsonb NOT NULL DEFAULT '{}',
    stats              jsonb NOT NULL DEFAULT '{}',
    start_file         text NOT NULL,
    start_pos          bigint NOT NULL,
    copy_end_file      text,
    copy_end_pos       bigint,
    indexes_built      boolean NOT NULL DEFAULT false,
    converged          boolean NOT NULL DEFAULT false,
    constraints_built  boolean NOT NULL DEFAULT false,
    position_file      text NOT NULL,
    position_pos       bigint NOT NULL,
    position_gtid      text,
    applied_events     bigint NOT NULL DEFAULT 0,
    applied_transactions bigint NOT NULL DEFAULT 0,
    last_event_at      timestamptz,
    caught_up_at       timestamptz,
    source_head_file   text,
    source_head_pos    bigint,
    stop_requested     boolean NOT NULL DEFAULT false,
    skip_statement_at  text,
    last_error         text,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE {s}.move_tables (
    job_id         text NOT NULL REFERENCES {s}.move_jobs (id) ON DELETE CASCADE,
    source_table   text NOT NULL,
    target_table   text NOT NULL,
    rows_estimated bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, source_table)
);
CREATE TABLE {s}.move_chunks (
    job_id       text NOT NULL,
    source_table text NOT NULL,
    chunk_no     integer NOT NULL,
    lower_key    jsonb,
    upper_key    jsonb,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done')),
    claimed_by   text,
    lease_until  timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    rows_copied  bigint NOT NULL DEFAULT 0,
    done_at      timestamptz,
    PRIMARY KEY (job_id, source_table, chunk_no),
    FOREIGN KEY (job_id, source_table) REFERENCES {s}.move_tables (job_id, source_table) ON DELETE CASCADE
);
CREATE INDEX move_chunks_state_idx ON {s}.move_chunks (job_id, state);
"#,
    // 5: `zdm verify` results. Every run is recorded, failed ones too, so the latest row is the
    // truth about "verified" (an earlier success never outlives a later failure).
    r#"
CREATE TABLE {s}.verify_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id           text,
    source           text NOT NULL,
    target           text NOT NULL,
    equal            boolean NOT NULL,
    differences      bigint NOT NULL,
    rows_compared    bigint NOT NULL,
    tables           jsonb NOT NULL,
    error            text,
    source_position  text,
    applied_position text,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX verify_runs_job_idx ON {s}.verify_runs (job_id, id);
"#,
    // 6: observability. Backfill batches record their rate, a duration histogram (counts per
    // bucket of `backfill::BATCH_BUCKETS`, not cumulative) and the time spent throttled by cause;
    // lock-timeout retries are counted on the migration. `progress` and `health()` let a DBA see
    // from psql what `zdm serve` shows. They read only ledger tables, so a later step that changes
    // those tables must CREATE OR REPLACE them too.
    r#"
ALTER TABLE {s}.backfill_progress
    ADD COLUMN started_at        timestamptz,
    ADD COLUMN rows_per_second   double precision,
    ADD COLUMN batches           bigint NOT NULL DEFAULT 0,
    ADD COLUMN batch_seconds     double precision NOT NULL DEFAULT 0,
    ADD COLUMN batch_buckets     bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN throttled_seconds jsonb NOT NULL DEFAULT '{}';
ALTER TABLE {s}.migrations ADD COLUMN lock_retries bigint NOT NULL DEFAULT 0;
CREATE VIEW {s}.progress AS
SELECT 'migration'::text AS kind,
       m.id,
       b.table_name,
       m.state,
       CASE WHEN m.state = 'failed' THEN m.failed_phase
            WHEN m.state = 'running' AND b.table_name IS NOT NULL AND NOT b.finished THEN 'backfill'
            ELSE m.state END AS phase,
       b.rows_done,
       b.rows_total AS rows_estimated,
       b.rows_per_second,
       CASE WHEN m.state = 'running' AND NOT b.finished AND b.rows_per_second > 0
            THEN greatest(b.rows_total - b.rows_done, 0) / b.rows_per_second END AS eta_seconds,
       NULL::double precision AS lag_seconds,
       m.last_error,
       coalesce(b.updated_at, m.updated_at) AS updated_at
  FROM {s}.migrations m
  LEFT JOIN {s}.backfill_progress b ON b.migration_id = m.id
UNION ALL
SELECT 'move', j.id, t.target_table, j.phase,
       CASE WHEN j.phase <> 'copying' THEN j.phase
            WHEN c.total > 0 AND c.done = c.total THEN 'copied'
            ELSE 'copying' END,
       c.rows_copied, t.rows_estimated, c.rate,
       CASE WHEN j.phase = 'copying' AND c.done < c.total AND c.rate > 0
            THEN greatest(t.rows_estimated - c.rows_copied, 0) / c.rate END,
       CASE WHEN j.phase = 'following'
            THEN greatest(extract(epoch FROM clock_timestamp() - greatest(j.last_event_at, j.caught_up_at))::float8, 0) END,
       j.last_error,
       j.updated_at
  FROM {s}.move_jobs j
  JOIN {s}.move_tables t ON t.job_id = j.id
  CROSS JOIN LATERAL (
      SELECT coalesce(sum(ch.rows_copied), 0)::bigint AS rows_copied,
             count(*) FILTER (WHERE ch.state = 'done') AS done,
             count(*) AS total,
             -- Rows finished in the last five minutes (or since the job began, if sooner).
             coalesce(sum(ch.rows_copied) FILTER (WHERE ch.done_at > clock_timestamp() - interval '5 minutes'), 0)
               / greatest(least(300, extract(epoch FROM clock_timestamp() - j.created_at)::float8), 1) AS rate
        FROM {s}.move_chunks ch
       WHERE ch.job_id = t.job_id AND ch.source_table = t.source_table) c;
CREATE FUNCTION {s}.health(OUT status text, OUT details jsonb)
    LANGUAGE sql STABLE AS $fn$
WITH m AS (
    SELECT count(*) FILTER (WHERE state = 'failed') AS failed,
           count(*) FILTER (WHERE state IN ('running', 'expanded', 'completing', 'rolling_back')) AS in_flight,
           coalesce(jsonb_agg(jsonb_build_object('migration', id, 'phase', failed_phase, 'error', last_error))
                    FILTER (WHERE state = 'failed'), '[]') AS failures
      FROM {s}.migrations
), j AS (
    SELECT count(*) FILTER (WHERE phase = 'failed') AS failed,
           count(*) FILTER (WHERE phase IN ('copying', 'following')) AS active,
           max(greatest(extract(epoch FROM clock_timestamp() - greatest(last_event_at, caught_up_at))::float8, 0))
               FILTER (WHERE phase = 'following') AS max_lag,
           coalesce(jsonb_agg(jsonb_build_object('move', id, 'error', last_error))
                    FILTER (WHERE phase = 'failed'), '[]') AS failures
      FROM {s}.move_jobs
)
SELECT CASE WHEN m.failed + j.failed > 0 THEN 'failed'
            WHEN m.in_flight + j.active > 0 THEN 'running'
            ELSE 'healthy' END,
       jsonb_build_object('migrations_failed', m.failed, 'migrations_in_flight', m.in_flight,
                          'moves_failed', j.failed, 'moves_active', j.active,
                          'max_lag_seconds', j.max_lag,
                          'failures', m.failures || j.failures)
  FROM m, j
$fn$;
"#,
    // 7: the manual throttle (`zdm throttle on|off`), and the writes the dual-write triggers saw
    // through a migration's old version (at most one row per session every 10 s), which
    // `zdm complete` and `zdm status` read.
    r#"
CREATE TABLE {s}.throttle (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    engaged  boolean NOT NULL,
    reason   text,
    set_by   text NOT NULL DEFAULT session_user,
    set_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE {s}.old_version_writes (
    migration_id      text NOT NULL,
    at                timestamptz NOT NULL DEFAULT clock_timestamp(),
    pid               integer NOT NULL DEFAULT pg_backend_pid(),
    usename           text NOT NULL DEFAULT session_user,
    application_name  text DEFAULT current_setting('application_name', true)
);
CREATE INDEX ON {s}.old_version_writes (migration_id, at);
-- Called by the triggers with the application's privileges, so it runs with zdm's own.
CREATE FUNCTION {s}.note_old_write(migration text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
INSERT INTO {s}.old_version_writes (migration_id) VALUES (migration);
SELECT pg_catalog.set_config('zdm.old_write_at', pg_catalog.date_part('epoch', pg_catalog.clock_timestamp())::pg_catalog.text, false);
$fn$;
GRANT EXECUTE ON FUNCTION {s}.note_old_write(text) TO PUBLIC;
"#,
];

/// The ledger version this build of zdm writes.
pub const LATEST: i32 = STEPS.len() as i32;

pub const VERSION_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS {s}.ledger_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     integer NOT NULL,
    zdm_version text NOT NULL,
    upgraded_at timestamptz NOT NULL DEFAULT clock_timestamp()
)"#;
