//! The facts MySQL rules read, recognised from a statement's tokens. Some fields are not
//! read by any rule yet; they are kept for the trace mode and future rules.
#![allow(dead_code)]

use crate::schema::{QName, TypeName};
use std::ops::Range;

#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub range: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    AlterTable {
        table: QName,
        online: bool,
        specs: Vec<Spec>,
        algorithm: Option<String>,
        lock: Option<(String, Range<usize>)>,
    },
    CreateTable {
        table: QName,
        columns: Vec<ColumnDef>,
        fulltext: bool,
        compressed: bool,
        temporary: bool,
    },
    CreateIndex {
        table: QName,
        name: String,
        columns: Vec<String>,
        kind: IndexKind,
        algorithm: Option<String>,
        lock: Option<(String, Range<usize>)>,
    },
    DropIndex {
        table: QName,
        name: String,
    },
    DropTable {
        tables: Vec<QName>,
        temporary: bool,
    },
    DropDatabase {
        name: String,
    },
    RenameTable {
        pairs: Vec<(QName, QName)>,
    },
    Optimize {
        tables: Vec<QName>,
    },
    Truncate {
        table: QName,
    },
    /// `SET [SESSION|GLOBAL|@@…] name = value` (each assignment).
    Set {
        vars: Vec<(String, String)>,
    },
    Begin,
    Commit,
    Dml,
    /// DROP VIEW/PROCEDURE/FUNCTION/TRIGGER/EVENT, CREATE OR REPLACE VIEW/…, REVOKE: removes
    /// or changes something running code may use (`what` describes it).
    Compat {
        what: String,
    },
    /// Other DDL (CREATE VIEW/PROCEDURE/TRIGGER, GRANT, …): commits implicitly.
    OtherDdl,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexKind {
    Plain,
    Unique,
    Fulltext,
    Spatial,
    Primary,
}

#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub range: Range<usize>,
    pub kind: SpecKind,
}

#[derive(Debug, Clone)]
pub(crate) enum SpecKind {
    AddColumn {
        col: ColumnDef,
        position: bool,
    },
    DropColumn {
        name: String,
    },
    /// MODIFY (old = new name) or CHANGE old new.
    ModifyColumn {
        old: String,
        col: ColumnDef,
    },
    AlterColumnDefault {
        name: String,
        drop: bool,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    AddIndex {
        kind: IndexKind,
        name: Option<String>,
        columns: Vec<String>,
    },
    DropIndex {
        name: String,
    },
    DropPrimaryKey,
    AddForeignKey {
        name: Option<String>,
        columns: Vec<String>,
        ref_table: QName,
    },
    DropForeignKey {
        name: String,
    },
    AddCheck {
        name: Option<String>,
    },
    DropConstraint {
        name: String,
    },
    RenameTable {
        to: QName,
    },
    RenameIndex,
    Algorithm(String),
    Lock(String),
    ConvertCharset,
    /// FORCE, ENGINE=, ROW_FORMAT=, KEY_BLOCK_SIZE=: rebuilds the table.
    Rebuild(String),
    /// Table options that are metadata-only (COMMENT=, AUTO_INCREMENT=, …).
    Option,
    Other,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnDef {
    pub range: Range<usize>,
    pub name: String,
    pub ty: Option<TypeName>,
    /// ENUM/SET members, in order.
    pub members: Vec<String>,
    pub charset: Option<String>,
    pub not_null: bool,
    pub default: Option<Default>,
    pub auto_increment: bool,
    pub generated_stored: bool,
    pub generated: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub check: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Default {
    /// A literal, NULL or CURRENT_TIMESTAMP.
    Literal(String),
    /// `DEFAULT (expr)` (MySQL 8.0.13+).
    Expression(String),
}
