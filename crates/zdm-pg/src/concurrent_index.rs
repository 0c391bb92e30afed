//! `CREATE INDEX CONCURRENTLY` that ends valid or not at all. A concurrent build that fails (a
//! lock timeout while it waits for an older transaction, a cancel, a kill) leaves an INVALID
//! index behind, which `IF NOT EXISTS` then happily skips. Every concurrent build zdm runs goes
//! through [`run`]: an invalid index of that name is dropped before each attempt, and after the
//! statement the index must be valid.

use tokio_postgres::Client;

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON table …` builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The index name, unquoted.
    pub name: String,
    /// The table as written (quoted, maybe schema-qualified): the index lives in its schema.
    pub table: String,
}

/// The index a statement builds concurrently, if it is such a statement (with a name).
pub fn target(sql: &str) -> Option<Target> {
    let t = zdm_core::sql::head_words(sql);
    let up: Vec<String> = t.iter().map(|w| w.to_ascii_uppercase()).collect();
    let mut i = 0;
    if up.get(i)? != "CREATE" {
        return None;
    }
    i += 1;
    if up.get(i)? == "UNIQUE" {
        i += 1;
    }
    if up.get(i)? != "INDEX" || up.get(i + 1)? != "CONCURRENTLY" {
        return None;
    }
    i += 2;
    if up.get(i).map(String::as_str) == Some("IF") {
        i += 3;
    }
    if up.get(i)? == "ON" {
        return None; // unnamed: PostgreSQL picks the name
    }
    let name = zdm_core::ident::unquote_parts(t.get(i)?).pop()?;
    i += 1;
    if up.get(i)? != "ON" {
        return None;
    }
    i += 1;
    if up.get(i).map(String::as_str) == Some("ONLY") {
        i += 1;
    }
    Some(Target {
        name,
        table: t.get(i)?.clone(),
    })
}

/// Whether an index of that name exists in the table's schema.
pub async fn exists(c: &Client, t: &Target) -> Result<bool, tokio_postgres::Error> {
    Ok(c
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_class x WHERE x.relname = $1 AND x.relkind = 'i' \
               AND x.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2)))",
            &[&t.name, &t.table],
        )
        .await?
        .get(0))
}

/// Whether the index exists and is invalid.
pub async fn is_invalid(c: &Client, t: &Target) -> Result<bool, tokio_postgres::Error> {
    let row = c
        .query_opt(
            "SELECT NOT i.indisvalid FROM pg_class x JOIN pg_index i ON i.indexrelid = x.oid \
             WHERE x.relname = $1 AND x.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))",
            &[&t.name, &t.table],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, bool>(0)).unwrap_or(false))
}

async fn drop_invalid(c: &Client, t: &Target) -> Result<bool, tokio_postgres::Error> {
    if !is_invalid(c, t).await? {
        return Ok(false);
    }
    let schema: String = c
        .query_one("SELECT n.nspname::text FROM pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace WHERE x.oid = to_regclass($1)", &[&t.table])
        .await?
        .get(0);
    c.batch_execute(&format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}",
        zdm_core::ident::quote_qualified(&schema, &t.name)
    ))
    .await?;
    Ok(true)
}

#[derive(Debug)]
pub enum BuildError {
    Statement(tokio_postgres::Error),
    /// The statement returned, yet the index is not valid (it was not built by this statement).
    StillInvalid(String),
}

/// Runs `sql` (a statement that must run outside a transaction); when it builds an index
/// concurrently, an invalid leftover is dropped first and the result is checked.
pub async fn run(c: &Client, sql: &str) -> Result<(), BuildError> {
    let Some(t) = target(sql) else {
        return c.batch_execute(sql).await.map_err(BuildError::Statement);
    };
    if drop_invalid(c, &t).await.map_err(BuildError::Statement)? {
        tracing::info!(index = %t.name, "dropped the invalid index an interrupted build left, building it again");
    }
    // Beside a busy application the build sorts in this one backend: parallel workers would
    // take every core of a small server for the length of the sort.
    let busy = crate::backfill::application_busy(c)
        .await
        .map_err(BuildError::Statement)?;
    if busy {
        c.batch_execute("SET max_parallel_maintenance_workers = 0")
            .await
            .map_err(BuildError::Statement)?;
    }
    let built = c.batch_execute(sql).await.map_err(BuildError::Statement);
    if busy {
        let _ = c
            .batch_execute("RESET max_parallel_maintenance_workers")
            .await;
    }
    built?;
    if is_invalid(c, &t).await.map_err(BuildError::Statement)? {
        return Err(BuildError::StillInvalid(format!(
            "index {} is INVALID after CREATE INDEX CONCURRENTLY",
            t.name
        )));
    }
    Ok(())
}

/// [`run`] for a statement an interrupted run may already have carried out: an index of that
/// name that is valid on that table is the statement's own work, and counts as done.
pub async fn run_again(c: &Client, sql: &str) -> Result<(), BuildError> {
    if let Some(t) = target(sql) {
        let built: bool = c
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid \
                  WHERE i.indrelid = to_regclass($2) AND x.relname = $1 AND i.indisvalid)",
                &[&t.name, &t.table],
            )
            .await
            .map_err(BuildError::Statement)?
            .get(0);
        if built {
            tracing::info!(index = %t.name, "the interrupted run had built the index; not building it again");
            return Ok(());
        }
    }
    run(c, sql).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_index_a_concurrent_build_makes() {
        assert_eq!(
            target(
                r#"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Idx" ON "public"."t" USING btree (a)"#
            ),
            Some(Target {
                name: "Idx".into(),
                table: r#""public"."t""#.into()
            })
        );
        assert_eq!(
            target("create index concurrently i_a on only s.t(a)"),
            Some(Target {
                name: "i_a".into(),
                table: "s.t".into()
            })
        );
        assert_eq!(target("CREATE INDEX CONCURRENTLY ON t (a)"), None);
        assert_eq!(target("CREATE INDEX i ON t (a)"), None);
        assert_eq!(target("DROP INDEX CONCURRENTLY i"), None);
    }
}
