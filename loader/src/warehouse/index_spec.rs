//! An index as a dataset declares it (`btree (sensor_serial, create_at)`); what is done
//! with it is `indexes`.

/// One declared index: an access method and what it indexes, as written
/// (`btree (sensor_serial, create_at)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpec {
    method: String,
    /// Inside the parentheses: columns, expressions, operator classes.
    keys: String,
}

impl IndexSpec {
    /// `method (keys)`: any access method PostgreSQL has, and its keys as `CREATE INDEX`
    /// takes them. What PostgreSQL thinks of them is known when the index is made.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let open = text.find('(').filter(|_| text.ends_with(')'));
        let Some(open) = open else {
            return Err(format!(
                "index {text:?}: write a method and its keys, as in \"btree (sensor_serial, create_at)\""
            ));
        };
        let method = text[..open].trim().to_ascii_lowercase();
        let keys = text[open + 1..text.len() - 1].trim().to_owned();
        let simple = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if method.is_empty() || !simple(&method) || keys.is_empty() {
            return Err(format!(
                "index {text:?}: write a method and its keys, as in \"btree (sensor_serial, create_at)\""
            ));
        }
        Ok(Self { method, keys })
    }

    /// As written, normalised: `btree (sensor_serial, create_at)`.
    pub fn text(&self) -> String {
        format!("{} ({})", self.method, self.keys)
    }

    pub fn method(&self) -> &str {
        &self.method
    }

    pub fn keys(&self) -> &str {
        &self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_a_method_and_its_keys() {
        let index = IndexSpec::parse(" BTREE (sensor_serial, create_at) ").expect("btree");
        assert_eq!(index.text(), "btree (sensor_serial, create_at)");
        let expression = IndexSpec::parse("btree (lower(name))").expect("expression");
        assert_eq!(expression.text(), "btree (lower(name))");
        for bad in [
            "btree",
            "(a)",
            "btree ()",
            "b tree (a)",
            "btree (a) where a > 1",
        ] {
            let error = IndexSpec::parse(bad).expect_err(bad);
            assert!(
                error.contains("write a method and its keys"),
                "{bad}: {error}"
            );
        }
    }
}
