//! Column types, canonicalised so aliases compare equal (`integer` = `int4`,
//! `character varying` = `varchar`), and PostgreSQL's "no rewrite" type changes.

/// A column type: canonical name, modifiers and array-ness, plus the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    pub name: String,
    pub args: Vec<i64>,
    pub array: bool,
    pub text: String,
}

impl TypeName {
    /// Builds a type from its lower-cased words (`["timestamp", "with", "time", "zone"]`),
    /// its numeric modifiers and whether it is an array.
    pub fn from_words(words: &[String], args: Vec<i64>, array: bool, text: &str) -> Self {
        let joined = words.join(" ");
        let joined = joined
            .strip_prefix("pg_catalog.")
            .unwrap_or(&joined)
            .to_string();
        let name = match joined.as_str() {
            "int" | "integer" | "int4" => "int4",
            "smallint" | "int2" => "int2",
            "bigint" | "int8" => "int8",
            "serial" | "serial4" => "serial4",
            "bigserial" | "serial8" => "serial8",
            "smallserial" | "serial2" => "serial2",
            "character varying" | "varchar" | "char varying" => "varchar",
            "character" | "char" | "bpchar" => "bpchar",
            "timestamp" | "timestamp without time zone" => "timestamp",
            "timestamptz" | "timestamp with time zone" => "timestamptz",
            "time" | "time without time zone" => "time",
            "timetz" | "time with time zone" => "timetz",
            "double precision" | "float8" => "float8",
            "real" | "float4" => "float4",
            "boolean" | "bool" => "bool",
            "decimal" | "numeric" => "numeric",
            "bit varying" | "varbit" => "varbit",
            other => other,
        }
        .to_string();
        TypeName {
            name,
            args,
            array,
            text: text.trim().to_string(),
        }
    }

    pub fn is_serial(&self) -> bool {
        matches!(self.name.as_str(), "serial2" | "serial4" | "serial8")
    }

    /// Whether changing a PostgreSQL column from `self` to `to` is metadata-only (no table
    /// rewrite, no index rebuild). `indexed` says whether the column is indexed (citext↔text
    /// keeps the heap but must rebuild indexes).
    pub fn pg_change_is_metadata_only(
        &self,
        to: &TypeName,
        pg_version: u32,
        indexed: bool,
    ) -> bool {
        if self.array != to.array {
            return false;
        }
        if self.name == to.name && self.args == to.args {
            return true;
        }
        let widened = |from: &[i64], to: &[i64]| match (from.first(), to.first()) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => b >= a,
        };
        match (self.name.as_str(), to.name.as_str()) {
            ("varchar", "varchar") | ("varbit", "varbit") => widened(&self.args, &to.args),
            ("varchar", "text") => true,
            ("text", "varchar") => to.args.is_empty(),
            ("numeric", "numeric") => match (self.args.as_slice(), to.args.as_slice()) {
                (_, []) => true,
                ([], _) => false,
                ([p1], [p2]) | ([p1, 0], [p2]) | ([p1], [p2, 0]) => p2 >= p1,
                ([p1, s1], [p2, s2]) => s1 == s2 && p2 >= p1,
                _ => false,
            },
            ("cidr", "inet") => true,
            ("timestamp", "timestamptz") | ("timestamptz", "timestamp") => {
                // Binary-identical since PG12 when the session time zone is UTC.
                pg_version >= 12 && widened(&self.args, &to.args)
            }
            ("time", "time")
            | ("timetz", "timetz")
            | ("interval", "interval")
            | ("timestamp", "timestamp")
            | ("timestamptz", "timestamptz") => widened(&self.args, &to.args),
            ("citext", "text") | ("text", "citext") => !indexed,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &str, args: &[i64]) -> TypeName {
        let w: Vec<String> = words.split(' ').map(str::to_string).collect();
        TypeName::from_words(&w, args.to_vec(), false, words)
    }

    #[test]
    fn whitelist() {
        assert!(t("varchar", &[100]).pg_change_is_metadata_only(
            &t("character varying", &[200]),
            15,
            false
        ));
        assert!(!t("varchar", &[200]).pg_change_is_metadata_only(&t("varchar", &[100]), 15, false));
        assert!(t("varchar", &[10]).pg_change_is_metadata_only(&t("text", &[]), 15, false));
        assert!(t("numeric", &[10, 2]).pg_change_is_metadata_only(
            &t("numeric", &[12, 2]),
            15,
            false
        ));
        assert!(!t("numeric", &[10, 2]).pg_change_is_metadata_only(
            &t("numeric", &[12, 3]),
            15,
            false
        ));
        assert!(!t("int", &[]).pg_change_is_metadata_only(&t("bigint", &[]), 15, false));
        assert!(t("timestamp", &[]).pg_change_is_metadata_only(
            &t("timestamp with time zone", &[]),
            12,
            false
        ));
        assert!(!t("timestamp", &[]).pg_change_is_metadata_only(&t("timestamptz", &[]), 11, false));
    }
}
