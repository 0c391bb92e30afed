//! Syntax tree → `model::Stmt`. Unknown shapes become `Kind::Other`, never a panic, so an
//! unusual statement loses precision but not the rest of the file.

use super::model::*;
use super::syntax::*;
use crate::schema::{ConKind, QName};
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

pub(crate) fn statement(node: &SyntaxNode) -> Stmt {
    Stmt {
        range: range(node),
        kind: kind(node),
        function: function(node),
    }
}

/// A function definition's name and volatility (VOLATILE unless IMMUTABLE or STABLE).
fn function(node: &SyntaxNode) -> Option<(String, bool)> {
    if node.kind() != K::CREATE_FUNCTION {
        return None;
    }
    let name = child(node, K::FUNCTION_NAME).map(|n| qname(&n).name)?;
    let options = child(node, K::FUNC_OPTION_LIST);
    let not_volatile = options.is_some_and(|o| {
        o.children()
            .any(|c| has_kw(&c, "immutable") || has_kw(&c, "stable"))
    });
    Some((name, !not_volatile))
}

fn kind_name(node: &SyntaxNode) -> String {
    format!("{:?}", node.kind())
}

fn table_of(node: &SyntaxNode) -> QName {
    node.children()
        .find(|c| {
            matches!(
                c.kind(),
                K::TABLE_RELATION_NAME
                    | K::RELATION_NAME
                    | K::TABLE_NAME
                    | K::TABLE_NAME_REF
                    | K::PATH
                    | K::PATH_REF
            )
        })
        .map(|n| qname(&n))
        .unwrap_or_default()
}

fn kind(node: &SyntaxNode) -> Kind {
    match node.kind() {
        K::ALTER_TABLE => Kind::AlterTable {
            table: table_of(node),
            actions: node.children().filter_map(|a| action(&a)).collect(),
        },
        K::CREATE_TABLE => create_table(node),
        K::CREATE_TABLE_AS | K::SELECT_INTO | K::CREATE_MATERIALIZED_VIEW => Kind::CreateTableAs {
            table: node
                .descendants()
                .find(|c| matches!(c.kind(), K::TABLE_NAME | K::PATH))
                .map(|n| qname(&n))
                .unwrap_or_default(),
        },
        K::CREATE_INDEX => Kind::CreateIndex {
            name: child(node, K::INDEX).map(|n| qname(&n)),
            table: table_of(node),
            unique: has_kw(node, "unique"),
            concurrently: has_kw(node, "concurrently"),
            columns: child(node, K::PARTITION_ITEM_LIST)
                .map(|l| {
                    children(&l, K::PARTITION_ITEM)
                        .map(|item| {
                            let toks = tokens(&item);
                            match toks.as_slice() {
                                [one] => ident(one.text()),
                                _ => match item.first_child() {
                                    Some(c) if c.kind() == K::NAME_REF => name_of(&c),
                                    _ => format!("({})", item.text()),
                                },
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            partial: child(node, K::WHERE_CLAUSE).is_some(),
            if_not_exists: child(node, K::IF_NOT_EXISTS).is_some(),
        },
        K::DROP_INDEX => Kind::DropIndex {
            names: children(node, K::INDEX_REF).map(|n| qname(&n)).collect(),
            concurrently: has_kw(node, "concurrently"),
            if_exists: child(node, K::IF_EXISTS).is_some(),
        },
        K::REINDEX => Kind::Reindex {
            concurrently: has_kw_deep(node, "concurrently")
                && !child(node, K::REINDEX_OPTION_LIST)
                    .is_some_and(|l| ["false", "off", "0"].iter().any(|f| has_kw_deep(&l, f))),
            target: node
                .children()
                .find(|c| kind_name(c).starts_with("REINDEX_TARGET"))
                .map(|c| c.text().to_string())
                .unwrap_or_default(),
        },
        K::REFRESH => Kind::Refresh {
            view: node
                .children()
                .find(|c| c.kind() == K::VIEW_REF || c.kind() == K::PATH_REF)
                .map(|n| qname(&n))
                .unwrap_or_default(),
            concurrently: has_kw(node, "concurrently"),
        },
        K::VACUUM => Kind::Vacuum {
            // VACUUM FULL, or VACUUM (FULL [true|on|1]) but not (FULL false).
            full: node
                .descendants()
                .filter(|c| c.kind() == K::VACUUM_OPTION)
                .any(|o| {
                    has_kw_deep(&o, "full")
                        && !["false", "off", "0"].iter().any(|f| has_kw_deep(&o, f))
                })
                || (child(node, K::VACUUM_OPTION_LIST).is_none() && has_kw_deep(node, "full")),
        },
        K::CLUSTER => Kind::Cluster,
        K::REPACK => Kind::Other {
            ddl: true,
            create: None,
        },
        K::TRUNCATE => Kind::Truncate {
            tables: child(node, K::TABLE_LIST)
                .map(|l| {
                    children(&l, K::TABLE_RELATION_NAME)
                        .map(|n| qname(&n))
                        .collect()
                })
                .unwrap_or_default(),
            cascade: descendant(node, K::CASCADE).is_some() || has_kw_deep(node, "cascade"),
        },
        K::CREATE_DOMAIN => Kind::CreateDomain {
            check: descendant(node, K::CHECK_CONSTRAINT).is_some(),
        },
        K::ALTER_DOMAIN if child(node, K::ADD_CONSTRAINT).is_some() => {
            Kind::AlterDomainAddConstraint
        }
        K::ALTER_TYPE => {
            let type_name = child(node, K::TYPE_NAME_REF)
                .map(|n| qname(&n))
                .unwrap_or_default();
            if let Some(add) = child(node, K::ADD_VALUE) {
                Kind::EnumAddValue {
                    type_name,
                    positioned: has_kw_deep(&add, "before") || has_kw_deep(&add, "after"),
                }
            } else if child(node, K::RENAME_VALUE).is_some() {
                Kind::EnumRenameValue { type_name }
            } else if has_kw_deep(node, "rename") {
                Kind::RenameObject {
                    what: "TYPE".into(),
                    name: type_name,
                }
            } else {
                Kind::OtherCompat {
                    what: "ALTER TYPE".into(),
                }
            }
        }
        K::CREATE_TRIGGER => Kind::CreateTrigger {
            table: node
                .children()
                .find(|c| matches!(c.kind(), K::ON_TABLE | K::PATH_REF | K::TABLE_NAME_REF))
                .map(|n| qname(&n))
                .unwrap_or_default(),
        },
        K::SET => {
            // The full (possibly dotted) parameter name: `foo.lock_timeout` is not lock_timeout.
            let name = descendant(node, K::CONFIG_PARAMETER_REF)
                .map(|n| n.text().to_string().to_lowercase())
                .unwrap_or_default();
            let value = descendant(node, K::TO_CONFIG_VALUE)
                .map(|v| {
                    tokens(&v)
                        .iter()
                        .filter(|t| !matches!(t.kind(), K::EQ | K::TO_KW))
                        .map(|t| t.text().trim_matches('\'').to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            Kind::Set { name, value }
        }
        K::RESET => Kind::Reset {
            name: tokens(node)
                .get(1)
                .map(|t| ident(t.text()))
                .unwrap_or_default(),
        },
        K::BEGIN => Kind::Begin,
        K::COMMIT_TRANSACTION | K::PREPARE_TRANSACTION => Kind::Commit,
        K::ROLLBACK_TRANSACTION if !has_kw_deep(node, "to") => Kind::Rollback,
        K::SAVEPOINT_CREATE | K::RELEASE_SAVEPOINT | K::ROLLBACK_TRANSACTION => Kind::Savepoint,
        K::UPDATE | K::DELETE | K::INSERT | K::MERGE => Kind::Dml {
            verb: match node.kind() {
                K::UPDATE => "UPDATE",
                K::DELETE => "DELETE",
                K::INSERT => "INSERT",
                _ => "MERGE",
            },
            table: table_of(node),
        },
        K::LOCK => Kind::Lock {
            tables: node
                .descendants()
                .filter(|c| c.kind() == K::TABLE_RELATION_NAME || c.kind() == K::RELATION_NAME)
                .map(|n| qname(&n))
                .collect(),
            mode: node
                .descendants()
                .find(|c| kind_name(c).starts_with("LOCK_MODE"))
                .map(|c| c.text().to_string().to_uppercase())
                .unwrap_or_else(|| "ACCESS EXCLUSIVE".into()),
        },
        K::CREATE_VIEW | K::CREATE_FUNCTION | K::CREATE_PROCEDURE | K::CREATE_RULE
            if child(node, K::OR_REPLACE).is_some() =>
        {
            Kind::OtherCompat {
                what: format!(
                    "CREATE OR REPLACE {}",
                    kind_name(node)
                        .trim_start_matches("CREATE_")
                        .replace('_', " ")
                ),
            }
        }
        K::REVOKE => Kind::OtherCompat {
            what: "REVOKE".into(),
        },
        K::DROP_TABLE
        | K::DROP_SCHEMA
        | K::DROP_DATABASE
        | K::DROP_VIEW
        | K::DROP_MATERIALIZED_VIEW
        | K::DROP_FUNCTION
        | K::DROP_PROCEDURE
        | K::DROP_TYPE
        | K::DROP_SEQUENCE
        | K::DROP_EXTENSION
        | K::DROP_TRIGGER
        | K::DROP_POLICY
        | K::DROP_DOMAIN
        | K::DROP_ROUTINE
        | K::DROP_AGGREGATE
        | K::DROP_RULE
        | K::DROP_FOREIGN_TABLE => {
            let what = kind_name(node)
                .trim_start_matches("DROP_")
                .replace('_', " ");
            let names = node
                .children()
                .filter(|c| {
                    let n = kind_name(c);
                    n.ends_with("_REF")
                        || n == "PATH"
                        || n.ends_with("_NAME")
                        || n.ends_with("_LIST")
                })
                .flat_map(|c| {
                    let refs: Vec<QName> = c
                        .children()
                        .filter(|g| kind_name(g).ends_with("_REF") || g.kind() == K::PATH)
                        .map(|g| qname(&g))
                        .collect();
                    if kind_name(&c).ends_with("_LIST") && !refs.is_empty() {
                        refs
                    } else {
                        vec![qname(&c)]
                    }
                })
                .filter(|q| !q.name.is_empty())
                .collect();
            Kind::Drop {
                what,
                names,
                if_exists: child(node, K::IF_EXISTS).is_some(),
            }
        }
        _ => {
            let name = kind_name(node);
            if name.starts_with("ALTER_")
                && has_kw_deep(node, "rename")
                && node.children().any(|c| kind_name(&c).contains("RENAME"))
            {
                let what = name.trim_start_matches("ALTER_").replace('_', " ");
                let target = node
                    .children()
                    .find(|c| kind_name(c).ends_with("_REF") || c.kind() == K::PATH)
                    .map(|n| qname(&n))
                    .unwrap_or_default();
                return Kind::RenameObject { what, name: target };
            }
            if name.starts_with("ALTER_") && node.children().any(|c| c.kind() == K::SET_SCHEMA) {
                return Kind::OtherCompat {
                    what: format!("{} … SET SCHEMA", name.replace('_', " ")),
                };
            }
            let create = if name.starts_with("CREATE_") {
                node.children()
                    .find(|c| matches!(c.kind(), K::PATH | K::TABLE_NAME))
                    .map(|n| qname(&n))
            } else {
                None
            };
            let ddl = name.starts_with("CREATE_")
                || name.starts_with("ALTER_")
                || name.starts_with("DROP_")
                || name == "COMMENT_ON";
            Kind::Other { ddl, create }
        }
    }
}

fn create_table(node: &SyntaxNode) -> Kind {
    let table = child(node, K::TABLE_NAME)
        .map(|n| qname(&n))
        .unwrap_or_default();
    let mut columns = Vec::new();
    let mut constraints = Vec::new();
    if let Some(args) = child(node, K::TABLE_ARG_LIST) {
        for arg in args.children() {
            if arg.kind() == K::COLUMN {
                columns.push(column_def(&arg));
            } else if let Some(c) = constraint(&arg) {
                constraints.push(c);
            }
        }
    }
    Kind::CreateTable {
        table,
        columns,
        constraints,
    }
}

/// A column definition (CREATE TABLE column or ADD COLUMN).
pub(crate) fn column_def(node: &SyntaxNode) -> ColumnDef {
    let mut col = ColumnDef {
        range: range(node),
        name: child(node, K::COLUMN_NAME)
            .map(|n| name_of(&n))
            .unwrap_or_default(),
        ty: child_type(node),
        not_null: false,
        primary_key: false,
        unique: false,
        default: None,
        generated: None,
        references: None,
        check: false,
    };
    for c in node.descendants() {
        match c.kind() {
            K::NOT_NULL_CONSTRAINT => col.not_null = true,
            K::PRIMARY_KEY_CONSTRAINT => {
                col.primary_key = true;
                col.not_null = true;
            }
            K::UNIQUE_CONSTRAINT => col.unique = true,
            K::CHECK_CONSTRAINT => col.check = true,
            K::REFERENCES_CONSTRAINT => {
                col.references = child(&c, K::TABLE_NAME_REF)
                    .or_else(|| child(&c, K::PATH_REF))
                    .map(|n| qname(&n))
            }
            K::DEFAULT_CONSTRAINT => col.default = Some(default_expr(&c)),
            K::GENERATED_CONSTRAINT => {
                col.generated = Some(
                    if descendant(&c, K::GENERATED_IDENTITY).is_some()
                        || has_kw_deep(&c, "identity")
                    {
                        Generated::Identity
                    } else if has_kw_deep(&c, "virtual") {
                        Generated::Virtual
                    } else if has_kw_deep(&c, "stored") {
                        Generated::Stored
                    } else {
                        // PG18: a generated column without STORED/VIRTUAL is VIRTUAL.
                        Generated::Virtual
                    },
                )
            }
            _ => {}
        }
    }
    col
}

fn default_expr(node: &SyntaxNode) -> DefaultExpr {
    let toks = tokens(node);
    let body: Vec<_> = toks
        .iter()
        .skip_while(|t| t.kind() == K::DEFAULT_KW)
        .collect();
    // The expression as written, from its first token to the end of the clause.
    let text = match body.first() {
        Some(first) => {
            let start =
                usize::from(first.text_range().start()) - usize::from(node.text_range().start());
            node.text()
                .to_string()
                .get(start..)
                .unwrap_or_default()
                .trim()
                .to_string()
        }
        None => String::new(),
    };
    let calls = node
        .descendants()
        .filter(|c| c.kind() == K::CALL_EXPR)
        .filter_map(|c| c.first_child())
        .map(|n| name_of(&n))
        .collect();
    let is_null = body.len() == 1 && body[0].text().eq_ignore_ascii_case("null");
    DefaultExpr {
        text,
        calls,
        is_null,
    }
}

/// A table constraint (ADD CONSTRAINT or in CREATE TABLE).
pub(crate) fn constraint(node: &SyntaxNode) -> Option<ConstraintDef> {
    let kind = match node.kind() {
        K::PRIMARY_KEY_CONSTRAINT => ConKind::PrimaryKey,
        K::UNIQUE_CONSTRAINT => ConKind::Unique,
        K::CHECK_CONSTRAINT => ConKind::Check,
        K::FOREIGN_KEY_CONSTRAINT => ConKind::ForeignKey,
        K::EXCLUDE_CONSTRAINT => ConKind::Exclude,
        K::NOT_NULL_CONSTRAINT => ConKind::NotNull,
        _ => return None,
    };
    let name =
        child(node, K::CONSTRAINT_NAME_CLAUSE).and_then(|c| find_name(&c, &[K::CONSTRAINT_NAME]));
    let (columns, ref_table) = match kind {
        ConKind::ForeignKey => {
            let lists: Vec<_> = children(node, K::FOREIGN_KEY_COLUMN_LIST).collect();
            (
                lists.first().map(column_list).unwrap_or_default(),
                child(node, K::TABLE_NAME_REF)
                    .or_else(|| child(node, K::PATH_REF))
                    .map(|n| qname(&n)),
            )
        }
        ConKind::PrimaryKey | ConKind::Unique => (
            descendant(node, K::CONSTRAINT_COLUMN_REF_LIST)
                .map(|l| column_list(&l))
                .unwrap_or_default(),
            None,
        ),
        ConKind::NotNull => (
            node.children()
                .filter(|c| c.kind() == K::NAME_REF || c.kind() == K::COLUMN_NAME_REF)
                .map(|c| name_of(&c))
                .collect(),
            None,
        ),
        _ => (Vec::new(), None),
    };
    let expr = (kind == ConKind::Check).then(|| node.text().to_string().to_lowercase());
    Some(ConstraintDef {
        range: range(node),
        name,
        kind,
        columns,
        ref_table,
        not_valid: child(node, K::NOT_VALID).is_some(),
        using_index: descendant(node, K::USING_INDEX_NAME).map(|u| {
            tokens(&u)
                .last()
                .map(|t| ident(t.text()))
                .unwrap_or_default()
        }),
        expr,
    })
}

fn action(node: &SyntaxNode) -> Option<Action> {
    let column = || {
        node.children()
            .find(|c| matches!(c.kind(), K::COLUMN_NAME_REF | K::NAME_REF))
            .map(|n| name_of(&n))
            .unwrap_or_default()
    };
    let kind = match node.kind() {
        K::ADD_COLUMN => ActionKind::AddColumn(column_def(node)),
        K::DROP_COLUMN => ActionKind::DropColumn { name: column() },
        K::ALTER_COLUMN => {
            let column = column();
            let opt = node
                .children()
                .find(|c| !matches!(c.kind(), K::COLUMN_NAME_REF | K::NAME_REF))?;
            match opt.kind() {
                K::SET_TYPE => ActionKind::AlterType {
                    column,
                    ty: child_type(&opt).unwrap_or_else(|| {
                        crate::schema::TypeName::from_words(&[], vec![], false, "")
                    }),
                    using: child(&opt, K::USING_EXPR).map(|u| {
                        tokens(&u)
                            .iter()
                            .skip(1)
                            .map(|t| t.text().to_string())
                            .collect::<Vec<_>>()
                            .join("")
                    }),
                },
                K::SET_NOT_NULL => ActionKind::SetNotNull { column },
                K::DROP_NOT_NULL => ActionKind::DropNotNull { column },
                K::SET_DEFAULT => ActionKind::SetDefault { column },
                K::DROP_DEFAULT => ActionKind::DropDefault { column },
                K::ADD_GENERATED => ActionKind::ColumnOther {
                    column,
                    what: "ADD GENERATED … AS IDENTITY",
                },
                K::SET_EXPRESSION => ActionKind::ColumnOther {
                    column,
                    what: "SET EXPRESSION",
                },
                K::SET_STATISTICS | K::SET_OPTIONS | K::SET_OPTIONS_LIST | K::RESET_OPTIONS => {
                    ActionKind::Light
                }
                K::DROP_EXPRESSION => ActionKind::ColumnOther {
                    column,
                    what: "DROP EXPRESSION",
                },
                _ => ActionKind::Other,
            }
        }
        K::ADD_CONSTRAINT => {
            ActionKind::AddConstraint(node.children().find_map(|c| constraint(&c))?)
        }
        K::DROP_CONSTRAINT => ActionKind::DropConstraint {
            name: node
                .children()
                .filter(|c| {
                    c.kind() != K::IF_EXISTS && c.kind() != K::CASCADE && c.kind() != K::RESTRICT
                })
                .last()
                .map(|n| name_of(&n))
                .unwrap_or_default(),
        },
        K::VALIDATE_CONSTRAINT => ActionKind::ValidateConstraint {
            name: tokens(node)
                .last()
                .map(|t| ident(t.text()))
                .unwrap_or_default(),
        },
        K::RENAME_COLUMN => {
            let names: Vec<String> = node
                .children()
                .filter(|c| matches!(c.kind(), K::COLUMN_NAME_REF | K::NAME_REF | K::COLUMN_NAME))
                .map(|c| name_of(&c))
                .collect();
            ActionKind::RenameColumn {
                from: names.first().cloned().unwrap_or_default(),
                to: names.get(1).cloned().unwrap_or_default(),
            }
        }
        K::TABLE_RENAME_TO => ActionKind::RenameTable {
            to: child(node, K::TABLE_NAME)
                .map(|n| name_of(&n))
                .unwrap_or_default(),
        },
        K::RENAME_CONSTRAINT => ActionKind::RenameConstraint,
        K::DETACH_PARTITION => ActionKind::DetachPartition {
            concurrently: has_kw_deep(node, "concurrently"),
        },
        K::ATTACH_PARTITION => ActionKind::AttachPartition,
        K::SET_LOGGED => ActionKind::Rewrite { what: "SET LOGGED" },
        K::SET_UNLOGGED => ActionKind::Rewrite {
            what: "SET UNLOGGED",
        },
        K::SET_TABLESPACE => ActionKind::Rewrite {
            what: "SET TABLESPACE",
        },
        K::SET_ACCESS_METHOD => ActionKind::Rewrite {
            what: "SET ACCESS METHOD",
        },
        K::SET_OPTIONS | K::RESET_OPTIONS | K::CLUSTER_ON | K::SET_WITHOUT_CLUSTER => {
            ActionKind::Light
        }
        K::SET_SCHEMA => ActionKind::CompatOther { what: "SET SCHEMA" },
        K::NO_INHERIT_TABLE => ActionKind::CompatOther { what: "NO INHERIT" },
        K::DISABLE_TRIGGER => ActionKind::CompatOther {
            what: "DISABLE TRIGGER",
        },
        K::REPLICA_IDENTITY => ActionKind::CompatOther {
            what: "REPLICA IDENTITY",
        },
        K::TABLE_RELATION_NAME | K::IF_EXISTS => return None,
        _ => ActionKind::Other,
    };
    Some(Action {
        range: range(node),
        kind,
    })
}
