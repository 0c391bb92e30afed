//! Token stream → `model::Stmt`. Statements the recogniser does not know become
//! `Kind::Other`/`OtherDdl`: a loss of precision, never a panic.

use super::lexer::{RawStmt, Tok, TokKind};
use super::model::*;
use crate::schema::{QName, TypeName};

struct P<'a> {
    t: &'a [Tok],
    i: usize,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.t.get(self.i)
    }
    fn peek_is(&self, w: &str) -> bool {
        self.peek().is_some_and(|t| t.is(w))
    }
    fn eat(&mut self, w: &str) -> bool {
        if self.peek_is(w) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Eats `words` if they all follow (an optional clause such as IF NOT EXISTS).
    fn eat_seq(&mut self, words: &[&str]) {
        let save = self.i;
        if !words.iter().all(|w| self.eat(w)) {
            self.i = save;
        }
    }
    fn eat_punct(&mut self, p: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(p)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn next(&mut self) -> Option<&'a Tok> {
        let t = self.t.get(self.i);
        self.i += 1;
        t
    }
    /// The tokens not consumed yet (empty past the end).
    fn rest(&self) -> &'a [Tok] {
        &self.t[self.i.min(self.t.len())..]
    }
    fn done(&self) -> bool {
        self.i >= self.t.len()
    }
    /// A possibly qualified name: `db`.`t` or t.
    fn qname(&mut self) -> QName {
        let first = self.next().map(Tok::ident).unwrap_or_default();
        if self.peek().is_some_and(|t| t.is_punct(".")) {
            self.i += 1;
            let second = self.next().map(Tok::ident).unwrap_or_default();
            QName::new(Some(&first), &second)
        } else {
            QName::bare(&first)
        }
    }
    /// Skips a balanced parenthesised group starting at `(`; returns its inner tokens.
    fn group(&mut self) -> &'a [Tok] {
        if !self.eat_punct("(") {
            return &[];
        }
        let start = self.i;
        let mut depth = 1;
        while let Some(t) = self.next() {
            if t.is_punct("(") {
                depth += 1;
            } else if t.is_punct(")") {
                depth -= 1;
                if depth == 0 {
                    return &self.t[start..self.i - 1];
                }
            }
        }
        &self.t[start..]
    }
    /// Skips an optional `=` then returns the next token's text.
    fn option_value(&mut self) -> String {
        self.eat_punct("=");
        self.next()
            .map(|t| t.text.to_uppercase())
            .unwrap_or_default()
    }
}

/// Splits tokens at top-level commas.
fn split_commas(t: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, tok) in t.iter().enumerate() {
        if tok.is_punct("(") {
            depth += 1;
        } else if tok.is_punct(")") {
            depth -= 1;
        } else if tok.is_punct(",") && depth == 0 {
            out.push(&t[start..i]);
            start = i + 1;
        }
    }
    if start < t.len() {
        out.push(&t[start..]);
    }
    out
}

fn range_of(t: &[Tok]) -> std::ops::Range<usize> {
    match (t.first(), t.last()) {
        (Some(a), Some(b)) => a.range.start..b.range.end,
        _ => 0..0,
    }
}

fn names_in(t: &[Tok]) -> Vec<String> {
    split_commas(t)
        .iter()
        .filter_map(|part| {
            part.iter()
                .find(|x| matches!(x.kind, TokKind::Word | TokKind::Quoted))
                .map(Tok::ident)
        })
        .collect()
}

pub(crate) fn statement(raw: &RawStmt) -> Stmt {
    let mut p = P { t: &raw.toks, i: 0 };
    Stmt {
        range: raw.range.clone(),
        kind: kind(&mut p),
    }
}

fn kind(p: &mut P) -> Kind {
    let Some(first) = p.next() else {
        return Kind::Other;
    };
    match first.text.as_str() {
        "ALTER" => {
            let online = p.eat("ONLINE");
            p.eat("OFFLINE");
            p.eat("IGNORE");
            if !p.eat("TABLE") {
                return Kind::OtherDdl;
            }
            p.eat_seq(&["IF", "EXISTS"]);
            let table = p.qname();
            let rest = p.rest();
            let specs: Vec<Spec> = split_commas(rest)
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(spec)
                .collect();
            let algorithm = specs.iter().find_map(|s| {
                if let SpecKind::Algorithm(a) = &s.kind {
                    Some(a.clone())
                } else {
                    None
                }
            });
            let lock = specs.iter().find_map(|s| {
                if let SpecKind::Lock(l) = &s.kind {
                    Some((l.clone(), s.range.clone()))
                } else {
                    None
                }
            });
            Kind::AlterTable {
                table,
                online,
                specs,
                algorithm,
                lock,
            }
        }
        "CREATE" => {
            let save = p.i;
            p.eat_seq(&["OR", "REPLACE"]);
            let or_replace = p.i > save;
            let temporary = p.eat("TEMPORARY");
            let idx_kind = if p.eat("UNIQUE") {
                Some(IndexKind::Unique)
            } else if p.eat("FULLTEXT") {
                Some(IndexKind::Fulltext)
            } else if p.eat("SPATIAL") {
                Some(IndexKind::Spatial)
            } else {
                None
            };
            p.eat("ONLINE");
            if p.eat("INDEX") || (idx_kind.is_some() && p.eat("KEY")) {
                p.eat_seq(&["IF", "NOT", "EXISTS"]);
                let name = p.next().map(Tok::ident).unwrap_or_default();
                while !p.done() && !p.peek_is("ON") {
                    p.i += 1;
                }
                p.eat("ON");
                let table = p.qname();
                let columns = names_in(p.group());
                let (mut algorithm, mut lock) = (None, None);
                while let Some(t) = p.next() {
                    if t.is("ALGORITHM") {
                        algorithm = Some(p.option_value());
                    } else if t.is("LOCK") {
                        let start = t.range.clone();
                        lock = Some((p.option_value(), start));
                    }
                }
                return Kind::CreateIndex {
                    table,
                    name,
                    columns,
                    kind: idx_kind.unwrap_or(IndexKind::Plain),
                    algorithm,
                    lock,
                };
            }
            if p.eat("TABLE") {
                p.eat_seq(&["IF", "NOT", "EXISTS"]);
                let table = p.qname();
                let mut columns = Vec::new();
                let mut fulltext = false;
                if p.peek().is_some_and(|t| t.is_punct("(")) {
                    for part in split_commas(p.group()) {
                        match part.first() {
                            Some(t) if t.is("FULLTEXT") => fulltext = true,
                            Some(t)
                                if [
                                    "PRIMARY",
                                    "KEY",
                                    "INDEX",
                                    "UNIQUE",
                                    "CONSTRAINT",
                                    "FOREIGN",
                                    "CHECK",
                                    "SPATIAL",
                                ]
                                .iter()
                                .any(|w| t.is(w)) => {}
                            Some(_) => columns.push(column_def(part)),
                            None => {}
                        }
                    }
                }
                let rest: Vec<String> = p.rest().iter().map(|t| t.text.to_uppercase()).collect();
                let compressed = rest.windows(3).any(|w| {
                    w[0] == "ROW_FORMAT" && (w[1] == "COMPRESSED" || w[2] == "COMPRESSED")
                });
                return Kind::CreateTable {
                    table,
                    columns,
                    fulltext,
                    compressed,
                    temporary,
                };
            }
            if or_replace {
                let what: Vec<String> = p
                    .rest()
                    .iter()
                    .take_while(|t| t.kind == TokKind::Word && !t.is("AS"))
                    .take(2)
                    .map(|t| t.raw.clone())
                    .collect();
                return Kind::Compat {
                    what: format!("CREATE OR REPLACE {}", what.join(" ")),
                };
            }
            Kind::OtherDdl
        }
        "DROP" => {
            let temporary = p.eat("TEMPORARY");
            if p.eat("TABLE") || p.eat("TABLES") {
                p.eat_seq(&["IF", "EXISTS"]);
                let rest = p.rest();
                let tables = split_commas(rest)
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| P { t: s, i: 0 }.qname())
                    .filter(|q| {
                        !q.name.eq_ignore_ascii_case("CASCADE")
                            && !q.name.eq_ignore_ascii_case("RESTRICT")
                    })
                    .collect();
                Kind::DropTable { tables, temporary }
            } else if p.eat("DATABASE") || p.eat("SCHEMA") {
                p.eat_seq(&["IF", "EXISTS"]);
                Kind::DropDatabase {
                    name: p.next().map(Tok::ident).unwrap_or_default(),
                }
            } else if p.eat("INDEX") {
                p.eat_seq(&["IF", "EXISTS"]);
                let name = p.next().map(Tok::ident).unwrap_or_default();
                p.eat("ON");
                Kind::DropIndex {
                    table: p.qname(),
                    name,
                }
            } else if let Some(w) = ["VIEW", "PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"]
                .iter()
                .find(|w| p.peek_is(w))
            {
                p.i += 1;
                p.eat_seq(&["IF", "EXISTS"]);
                let name = p.qname();
                Kind::Compat {
                    what: format!("DROP {w} {name}"),
                }
            } else {
                Kind::OtherDdl
            }
        }
        "RENAME" if p.eat("TABLE") || p.eat("TABLES") => {
            let pairs = split_commas(p.rest())
                .into_iter()
                .map(|s| {
                    let mut q = P { t: s, i: 0 };
                    let from = q.qname();
                    q.eat("TO");
                    (from, q.qname())
                })
                .collect();
            Kind::RenameTable { pairs }
        }
        "OPTIMIZE" => {
            p.eat("NO_WRITE_TO_BINLOG");
            p.eat("LOCAL");
            p.eat("TABLE");
            Kind::Optimize {
                tables: split_commas(p.rest())
                    .into_iter()
                    .map(|s| P { t: s, i: 0 }.qname())
                    .collect(),
            }
        }
        "TRUNCATE" => {
            p.eat("TABLE");
            Kind::Truncate { table: p.qname() }
        }
        "SET" => {
            let vars = split_commas(p.rest())
                .into_iter()
                .filter_map(|s| {
                    let eq = s.iter().position(|t| t.is_punct("=") || t.is_punct(":="))?;
                    let name = s[..eq]
                        .iter()
                        .map(|t| t.text.to_lowercase())
                        .filter(|w| {
                            !matches!(
                                w.as_str(),
                                "session"
                                    | "global"
                                    | "local"
                                    | "persist"
                                    | "."
                                    | "@@session"
                                    | "@@global"
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("");
                    let name = name
                        .trim_start_matches("@@")
                        .trim_start_matches("session.")
                        .trim_start_matches("global.")
                        .to_string();
                    let value = s[eq + 1..]
                        .iter()
                        .map(|t| t.text.clone())
                        .collect::<Vec<_>>()
                        .join(" ");
                    Some((name, value))
                })
                .collect();
            Kind::Set { vars }
        }
        "BEGIN" if p.done() || p.peek_is("WORK") => Kind::Begin,
        "START" if p.peek_is("TRANSACTION") => Kind::Begin,
        "COMMIT" | "ROLLBACK" => Kind::Commit,
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" => Kind::Dml,
        "REVOKE" => Kind::Compat {
            what: "REVOKE".into(),
        },
        "GRANT" | "ANALYZE" => Kind::OtherDdl,
        _ => Kind::Other,
    }
}

fn spec(t: &[Tok]) -> Spec {
    let range = range_of(t);
    let mut p = P { t, i: 0 };
    let kind = spec_kind(&mut p);
    Spec { range, kind }
}

fn index_kind(p: &mut P) -> Option<IndexKind> {
    if p.eat("INDEX") || p.eat("KEY") {
        Some(IndexKind::Plain)
    } else if p.eat("UNIQUE") {
        let _ = p.eat("INDEX") || p.eat("KEY");
        Some(IndexKind::Unique)
    } else if p.eat("FULLTEXT") {
        let _ = p.eat("INDEX") || p.eat("KEY");
        Some(IndexKind::Fulltext)
    } else if p.eat("SPATIAL") {
        let _ = p.eat("INDEX") || p.eat("KEY");
        Some(IndexKind::Spatial)
    } else if p.eat("PRIMARY") {
        p.eat("KEY");
        Some(IndexKind::Primary)
    } else {
        None
    }
}

fn spec_kind(p: &mut P) -> SpecKind {
    let Some(first) = p.next() else {
        return SpecKind::Other;
    };
    match first.text.as_str() {
        "ADD" => {
            let mut name = None;
            if p.eat("CONSTRAINT")
                && !(p.peek_is("FOREIGN")
                    || p.peek_is("CHECK")
                    || p.peek_is("UNIQUE")
                    || p.peek_is("PRIMARY"))
            {
                name = p.next().map(Tok::ident);
            }
            if p.eat("FOREIGN") {
                p.eat("KEY");
                if !p.peek().is_some_and(|t| t.is_punct("(")) {
                    let n = p.next().map(Tok::ident);
                    name = name.or(n);
                }
                let columns = names_in(p.group());
                p.eat("REFERENCES");
                return SpecKind::AddForeignKey {
                    name,
                    columns,
                    ref_table: p.qname(),
                };
            }
            if p.eat("CHECK") {
                return SpecKind::AddCheck { name };
            }
            if let Some(kind) = index_kind(p) {
                p.eat_seq(&["IF", "NOT", "EXISTS"]);
                let iname = if p.peek().is_some_and(|t| !t.is_punct("(") && !t.is("USING")) {
                    p.next().map(Tok::ident)
                } else {
                    None
                };
                while p.peek().is_some_and(|t| !t.is_punct("(")) {
                    p.i += 1;
                }
                return SpecKind::AddIndex {
                    kind,
                    name: name.or(iname),
                    columns: names_in(p.group()),
                };
            }
            p.eat("COLUMN");
            p.eat_seq(&["IF", "NOT", "EXISTS"]);
            let rest = p.rest();
            if rest.first().is_some_and(|t| t.is_punct("(")) {
                // ADD COLUMN (a INT, b INT): treat the first; the rules see each via re-split.
                let inner = P { t: rest, i: 0 }.group();
                let cols = split_commas(inner);
                return SpecKind::AddColumn {
                    col: cols.first().map(|c| column_def(c)).unwrap_or_default(),
                    position: false,
                };
            }
            let position = rest.iter().any(|t| t.is("FIRST") || t.is("AFTER"));
            SpecKind::AddColumn {
                col: column_def(rest),
                position,
            }
        }
        "DROP" => {
            if p.eat("PRIMARY") {
                return SpecKind::DropPrimaryKey;
            }
            if p.eat("FOREIGN") {
                p.eat("KEY");
                return SpecKind::DropForeignKey {
                    name: p.next().map(Tok::ident).unwrap_or_default(),
                };
            }
            if p.eat("CHECK") || p.eat("CONSTRAINT") {
                p.eat_seq(&["IF", "EXISTS"]);
                return SpecKind::DropConstraint {
                    name: p.next().map(Tok::ident).unwrap_or_default(),
                };
            }
            if p.eat("INDEX") || p.eat("KEY") {
                p.eat_seq(&["IF", "EXISTS"]);
                return SpecKind::DropIndex {
                    name: p.next().map(Tok::ident).unwrap_or_default(),
                };
            }
            p.eat("COLUMN");
            p.eat_seq(&["IF", "EXISTS"]);
            SpecKind::DropColumn {
                name: p.next().map(Tok::ident).unwrap_or_default(),
            }
        }
        "MODIFY" => {
            p.eat("COLUMN");
            p.eat_seq(&["IF", "EXISTS"]);
            let col = column_def(p.rest());
            SpecKind::ModifyColumn {
                old: col.name.clone(),
                col,
            }
        }
        "CHANGE" => {
            p.eat("COLUMN");
            p.eat_seq(&["IF", "EXISTS"]);
            let old = p.next().map(Tok::ident).unwrap_or_default();
            SpecKind::ModifyColumn {
                old,
                col: column_def(p.rest()),
            }
        }
        "ALTER" => {
            if p.eat("INDEX") || p.eat("CHECK") || p.eat("CONSTRAINT") {
                return SpecKind::Option;
            }
            p.eat("COLUMN");
            let name = p.next().map(Tok::ident).unwrap_or_default();
            SpecKind::AlterColumnDefault {
                name,
                drop: p.peek_is("DROP"),
            }
        }
        "RENAME" => {
            if p.eat("COLUMN") {
                let from = p.next().map(Tok::ident).unwrap_or_default();
                p.eat("TO");
                return SpecKind::RenameColumn {
                    from,
                    to: p.next().map(Tok::ident).unwrap_or_default(),
                };
            }
            if p.eat("INDEX") || p.eat("KEY") {
                return SpecKind::RenameIndex;
            }
            let _ = p.eat("TO") || p.eat("AS");
            SpecKind::RenameTable { to: p.qname() }
        }
        "ALGORITHM" => SpecKind::Algorithm(p.option_value()),
        "LOCK" => SpecKind::Lock(p.option_value()),
        "CONVERT" => SpecKind::ConvertCharset,
        "FORCE" => SpecKind::Rebuild("FORCE".into()),
        "ENGINE" | "ROW_FORMAT" | "KEY_BLOCK_SIZE" => {
            SpecKind::Rebuild(format!("{}={}", first.text, p.option_value()))
        }
        "DEFAULT" | "CHARACTER" | "CHARSET" | "COLLATE" | "COMMENT" | "AUTO_INCREMENT"
        | "STATS_PERSISTENT" | "STATS_AUTO_RECALC" | "STATS_SAMPLE_PAGES" => {
            // A table default charset change is metadata-only for existing columns.
            SpecKind::Option
        }
        "ORDER" => SpecKind::Rebuild("ORDER BY".into()),
        _ => SpecKind::Other,
    }
}

/// `name type [attributes…]`.
pub(crate) fn column_def(t: &[Tok]) -> ColumnDef {
    let mut col = ColumnDef {
        range: range_of(t),
        ..ColumnDef::default()
    };
    let mut p = P { t, i: 0 };
    col.name = p.next().map(Tok::ident).unwrap_or_default();
    // Type: words until '(' or an attribute keyword.
    let type_start = p.i;
    let mut words = Vec::new();
    let mut args = Vec::new();
    if let Some(tw) = p.next() {
        words.push(tw.text.to_lowercase());
        if p.peek().is_some_and(|t| t.is_punct("(")) {
            let inner = p.group();
            for part in split_commas(inner) {
                match part.first() {
                    Some(x) if x.kind == TokKind::Number => args.push(x.text.parse().unwrap_or(0)),
                    Some(x) if x.kind == TokKind::Str => col.members.push(x.text.clone()),
                    _ => {}
                }
            }
        }
        while p.peek().is_some_and(|t| {
            t.is("UNSIGNED")
                || t.is("ZEROFILL")
                || t.is("SIGNED")
                || t.is("PRECISION")
                || t.is("VARYING")
        }) {
            if let Some(w) = p.next() {
                words.push(w.text.to_lowercase());
            }
        }
    }
    if !words.is_empty() {
        let text = t
            .get(type_start..p.i.min(t.len()))
            .map(|s| {
                s.iter()
                    .map(|x| x.raw.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let text = text
            .replace(" ( ", "(")
            .replace(" (", "(")
            .replace("( ", "(")
            .replace(" )", ")")
            .replace(" , ", ",");
        let base: Vec<String> = words
            .iter()
            .filter(|w| !matches!(w.as_str(), "unsigned" | "zerofill" | "signed"))
            .cloned()
            .collect();
        let mut ty = TypeName::from_words(&base, args, false, &text);
        if words.iter().any(|w| w == "unsigned") {
            ty.name.push_str(" unsigned");
        }
        col.ty = Some(ty);
    }
    while let Some(tok) = p.next() {
        match tok.text.as_str() {
            "NOT" if p.eat("NULL") => col.not_null = true,
            "DEFAULT" => {
                if p.peek().is_some_and(|t| t.is_punct("(")) {
                    let g = p.group();
                    col.default = Some(Default::Expression(
                        g.iter()
                            .map(|x| x.raw.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ));
                } else if let Some(v) = p.next() {
                    let mut lit = v.raw.clone();
                    if (v.is("CURRENT_TIMESTAMP") || v.is("NOW") || v.is("LOCALTIMESTAMP"))
                        && p.peek().is_some_and(|t| t.is_punct("("))
                    {
                        p.group();
                        lit.push_str("()");
                    } else if v.is_punct("-") {
                        lit.push_str(&p.next().map(|x| x.raw.clone()).unwrap_or_default());
                    }
                    col.default = Some(Default::Literal(lit));
                }
            }
            "AUTO_INCREMENT" => col.auto_increment = true,
            "PRIMARY" => {
                p.eat("KEY");
                col.primary_key = true;
                col.not_null = true;
            }
            "UNIQUE" => col.unique = true,
            "CHECK" => col.check = true,
            "AS" => {
                col.generated = true;
                p.group();
            }
            "STORED" | "PERSISTENT" => col.generated_stored = true,
            "CHARACTER" | "CHARSET" => {
                p.eat("SET");
                col.charset = p.next().map(|t| t.text.to_lowercase());
            }
            _ => {}
        }
    }
    col
}
