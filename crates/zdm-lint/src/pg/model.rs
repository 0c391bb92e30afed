//! The facts the PostgreSQL rules read, extracted once per statement from the syntax tree.

use crate::schema::{ConKind, QName, TypeName};
use std::ops::Range;

#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub range: Range<usize>,
    pub kind: Kind,
    /// CREATE [OR REPLACE] FUNCTION: (name, whether it is VOLATILE), for default volatility.
    pub function: Option<(String, bool)>,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    AlterTable {
        table: QName,
        actions: Vec<Action>,
    },
    CreateTable {
        table: QName,
        columns: Vec<ColumnDef>,
        constraints: Vec<ConstraintDef>,
    },
    /// CREATE TABLE … AS / SELECT INTO / CREATE MATERIALIZED VIEW: a new relation.
    CreateTableAs {
        table: QName,
    },
    CreateIndex {
        name: Option<QName>,
        table: QName,
        unique: bool,
        concurrently: bool,
        columns: Vec<String>,
        partial: bool,
        if_not_exists: bool,
    },
    DropIndex {
        names: Vec<QName>,
        concurrently: bool,
        if_exists: bool,
    },
    Reindex {
        concurrently: bool,
        target: String,
    },
    Refresh {
        view: QName,
        concurrently: bool,
    },
    Vacuum {
        full: bool,
    },
    Cluster,
    Truncate {
        tables: Vec<QName>,
        cascade: bool,
    },
    /// DROP TABLE/SCHEMA/DATABASE/VIEW/FUNCTION/TYPE/…: `what` is the object keyword(s).
    Drop {
        what: String,
        names: Vec<QName>,
        if_exists: bool,
    },
    CreateDomain {
        check: bool,
    },
    AlterDomainAddConstraint,
    EnumAddValue {
        type_name: QName,
        positioned: bool,
    },
    EnumRenameValue {
        type_name: QName,
    },
    /// ALTER SCHEMA/VIEW/INDEX/SEQUENCE/… RENAME TO.
    RenameObject {
        what: String,
        name: QName,
    },
    /// Other expand/contract hazards (CREATE OR REPLACE VIEW, REVOKE, ALTER … SET SCHEMA, …).
    OtherCompat {
        what: String,
    },
    CreateTrigger {
        table: QName,
    },
    Set {
        name: String,
        value: String,
    },
    Reset {
        name: String,
    },
    Begin,
    Commit,
    Rollback,
    Savepoint,
    /// UPDATE / DELETE / INSERT / MERGE on a table.
    Dml {
        verb: &'static str,
        table: QName,
    },
    Lock {
        tables: Vec<QName>,
        mode: String,
    },
    /// Other statements that do not create objects (SELECT, COMMENT, GRANT, DO, …).
    Other {
        ddl: bool,
        create: Option<QName>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub range: Range<usize>,
    pub kind: ActionKind,
}

#[derive(Debug, Clone)]
pub(crate) enum ActionKind {
    AddColumn(ColumnDef),
    DropColumn {
        name: String,
    },
    AlterType {
        column: String,
        ty: TypeName,
        using: Option<String>,
    },
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    SetDefault {
        column: String,
    },
    DropDefault {
        column: String,
    },
    /// ADD GENERATED … AS IDENTITY / SET EXPRESSION / DROP EXPRESSION / DROP IDENTITY.
    ColumnOther {
        column: String,
        what: &'static str,
    },
    AddConstraint(ConstraintDef),
    DropConstraint {
        name: String,
    },
    ValidateConstraint {
        name: String,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    RenameTable {
        to: String,
    },
    RenameConstraint,
    DetachPartition {
        concurrently: bool,
    },
    AttachPartition,
    /// SET LOGGED/UNLOGGED, SET TABLESPACE, SET ACCESS METHOD: the table is rewritten/moved.
    Rewrite {
        what: &'static str,
    },
    /// SET SCHEMA, NO INHERIT, DISABLE TRIGGER, REPLICA IDENTITY …: breaks old code.
    CompatOther {
        what: &'static str,
    },
    /// SET STATISTICS, SET (storage options), CLUSTER ON …: only SHARE UPDATE EXCLUSIVE.
    Light,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generated {
    Stored,
    Virtual,
    Identity,
}

#[derive(Debug, Clone)]
pub(crate) struct ColumnDef {
    pub range: Range<usize>,
    pub name: String,
    pub ty: Option<TypeName>,
    pub not_null: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub default: Option<DefaultExpr>,
    pub generated: Option<Generated>,
    pub references: Option<QName>,
    pub check: bool,
}

/// A DEFAULT expression: its text and the functions it calls.
#[derive(Debug, Clone)]
pub(crate) struct DefaultExpr {
    pub text: String,
    pub calls: Vec<String>,
    /// NULL literal: no default at all.
    pub is_null: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ConstraintDef {
    pub range: Range<usize>,
    pub name: Option<String>,
    pub kind: ConKind,
    pub columns: Vec<String>,
    pub ref_table: Option<QName>,
    pub not_valid: bool,
    pub using_index: Option<String>,
    pub expr: Option<String>,
}
