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
