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
