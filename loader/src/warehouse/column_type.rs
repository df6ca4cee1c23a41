//! The PostgreSQL types a dataset's columns may have: how each is spelled in DDL and in
//! the catalog, which Arrow type its binary COPY data is encoded from, which Arrow types
//! widen into it without loss, and which type a Parquet column maps to when no type is
//! declared.

use std::fmt;

use arrow_schema::{DataType, TimeUnit};

/// A column's PostgreSQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgType {
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    /// `numeric(precision, scale)`; a bare `numeric` (from an unsigned 64-bit column) is
    /// `Numeric { precision: 20, scale: 0 }`.
    Numeric {
        precision: u8,
        scale: i8,
    },
    Text,
    /// `varchar(n)`: at most `n` characters, enforced while the rows stream.
    Varchar {
        max_chars: usize,
    },
    Bytea,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Jsonb,
}

impl PgType {
    /// Parses a declared type: `bigint`, `int8`, `varchar(32)`, `numeric(12,2)`,
    /// `timestamp with time zone`, … (case and spaces as SQL allows).
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_ascii_lowercase();
        let spaced: String = lower.split_whitespace().collect::<Vec<_>>().join(" ");
        let (base, args) = match spaced.split_once('(') {
            Some((base, rest)) => {
                let args = rest
                    .strip_suffix(')')
                    .ok_or_else(|| format!("type {text:?}: unbalanced parenthesis"))?;
                (base.trim(), Some(args))
            }
            None => (spaced.as_str(), None),
        };
        let numbers = |args: &str| -> Result<Vec<i64>, String> {
            args.split(',')
                .map(|a| {
                    a.trim()
                        .parse::<i64>()
                        .map_err(|_| format!("type {text:?}: {a:?} is not a number"))
                })
                .collect()
        };
        let plain = |kind: Self| match args {
            None => Ok(kind),
            Some(_) => Err(format!("type {text:?} takes no arguments")),
        };
        match base {
            "boolean" | "bool" => plain(Self::Boolean),
            "smallint" | "int2" => plain(Self::SmallInt),
            "integer" | "int" | "int4" => plain(Self::Integer),
            "bigint" | "int8" => plain(Self::BigInt),
            "real" | "float4" => plain(Self::Real),
            "double precision" | "float8" => plain(Self::Double),
            "text" => plain(Self::Text),
            "bytea" => plain(Self::Bytea),
            "date" => plain(Self::Date),
            "time" | "time without time zone" => plain(Self::Time),
            "timestamp" | "timestamp without time zone" => plain(Self::Timestamp),
            "timestamptz" | "timestamp with time zone" => plain(Self::Timestamptz),
            "jsonb" => plain(Self::Jsonb),
            "varchar" | "character varying" => match args.map(numbers).transpose()?.as_deref() {
                Some([n]) if *n > 0 => Ok(Self::Varchar {
                    max_chars: *n as usize,
                }),
                _ => Err(format!(
                    "type {text:?}: write varchar(n) with n ≥ 1, or text"
                )),
            },
            "numeric" | "decimal" => match args.map(numbers).transpose()?.as_deref() {
                Some([p]) if (1..=38).contains(p) => Ok(Self::Numeric {
                    precision: *p as u8,
                    scale: 0,
                }),
                Some([p, s]) if (1..=38).contains(p) && (0..=*p).contains(s) => Ok(Self::Numeric {
                    precision: *p as u8,
                    scale: *s as i8,
                }),
                _ => Err(format!(
                    "type {text:?}: write numeric(p) or numeric(p,s) with 1 ≤ p ≤ 38 and 0 ≤ s ≤ p"
                )),
            },
            _ => Err(format!(
                "type {text:?} is not supported; use one of boolean, smallint, integer, bigint, \
                 real, double precision, numeric(p,s), text, varchar(n), bytea, date, time, \
                 timestamp, timestamptz, jsonb"
            )),
        }
    }

    /// The type a Parquet column of Arrow type `data_type` maps to when the dataset
    /// declares no columns; `Err` says why there is no faithful mapping.
    pub fn from_arrow(data_type: &DataType) -> Result<Self, String> {
        Ok(match data_type {
            DataType::Boolean => Self::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => Self::SmallInt,
            DataType::Int32 | DataType::UInt16 => Self::Integer,
            DataType::Int64 | DataType::UInt32 => Self::BigInt,
            DataType::UInt64 => Self::Numeric {
                precision: 20,
                scale: 0,
            },
            DataType::Float16 | DataType::Float32 => Self::Real,
            DataType::Float64 => Self::Double,
            DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s)
                if *s >= 0 =>
            {
                Self::Numeric {
                    precision: *p,
                    scale: *s,
                }
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Self::Text,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => Self::Bytea,
            DataType::Date32 | DataType::Date64 => Self::Date,
            DataType::Time32(_) | DataType::Time64(_) => Self::Time,
            DataType::Timestamp(_, None) => Self::Timestamp,
            DataType::Timestamp(_, Some(_)) => Self::Timestamptz,
            DataType::Dictionary(_, values) => return Self::from_arrow(values),
            other if other.is_nested() => {
                return Err(format!(
                    "type {other} is nested and has no faithful PostgreSQL column type; \
                     declare the column as jsonb to load it as JSON"
                ));
            }
            other => return Err(format!("type {other} has no PostgreSQL column type here")),
        })
    }

    /// Whether a Parquet column of Arrow type `data_type` loads into a column of this
    /// type without losing anything: the same kind, as wide or narrower (int32 into
    /// bigint, float into double, any string into text or varchar, any timestamp unit),
    /// and any nested type into jsonb.
    pub fn accepts(self, data_type: &DataType) -> bool {
        use DataType as A;
        if let A::Dictionary(_, values) = data_type {
            return self.accepts(values);
        }
        match self {
            Self::Boolean => matches!(data_type, A::Boolean),
            Self::SmallInt => matches!(data_type, A::Int8 | A::Int16 | A::UInt8),
            Self::Integer => matches!(
                data_type,
                A::Int8 | A::Int16 | A::Int32 | A::UInt8 | A::UInt16
            ),
            Self::BigInt => matches!(
                data_type,
                A::Int8 | A::Int16 | A::Int32 | A::Int64 | A::UInt8 | A::UInt16 | A::UInt32
            ),
            Self::Real => matches!(data_type, A::Float16 | A::Float32),
            Self::Double => matches!(data_type, A::Float16 | A::Float32 | A::Float64),
            Self::Numeric { precision, scale } => match data_type {
                A::Decimal32(p, s) | A::Decimal64(p, s) | A::Decimal128(p, s) => {
                    *s >= 0
                        && *s <= scale
                        && i16::from(*p) - i16::from(*s) <= i16::from(precision) - i16::from(scale)
                }
                A::Int8
                | A::Int16
                | A::Int32
                | A::Int64
                | A::UInt8
                | A::UInt16
                | A::UInt32
                | A::UInt64 => i16::from(precision) - i16::from(scale) >= integer_digits(data_type),
                _ => false,
            },
            Self::Text | Self::Varchar { .. } => {
                matches!(data_type, A::Utf8 | A::LargeUtf8 | A::Utf8View)
            }
            Self::Bytea => matches!(
                data_type,
                A::Binary | A::LargeBinary | A::BinaryView | A::FixedSizeBinary(_)
            ),
            Self::Date => matches!(data_type, A::Date32 | A::Date64),
            Self::Time => matches!(data_type, A::Time32(_) | A::Time64(_)),
            Self::Timestamp => matches!(data_type, A::Timestamp(_, None)),
            Self::Timestamptz => matches!(data_type, A::Timestamp(_, Some(_))),
            Self::Jsonb => {
                data_type.is_nested() || matches!(data_type, A::Utf8 | A::LargeUtf8 | A::Utf8View)
            }
        }
    }

    /// The Arrow type this column's binary COPY data is encoded from: every accepted input
    /// is cast to it first.
    pub(crate) fn copy_arrow_type(self) -> DataType {
        match self {
            Self::Boolean => DataType::Boolean,
            Self::SmallInt => DataType::Int16,
            Self::Integer => DataType::Int32,
            Self::BigInt => DataType::Int64,
            Self::Real => DataType::Float32,
            Self::Double => DataType::Float64,
            Self::Numeric { precision, scale } => DataType::Decimal128(precision, scale),
            Self::Text | Self::Varchar { .. } | Self::Jsonb => DataType::Utf8,
            Self::Bytea => DataType::Binary,
            Self::Date => DataType::Date32,
            Self::Time => DataType::Time64(TimeUnit::Microsecond),
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }

    /// Whether the column can partition a table by day.
    pub fn can_partition(self) -> bool {
        matches!(self, Self::Date | Self::Timestamp | Self::Timestamptz)
    }

    /// Reads the type back from the catalog's `format_type()` spelling.
    pub fn from_catalog(formatted: &str) -> Option<Self> {
        Self::parse(formatted).ok()
    }
}

/// Decimal digits an integer type needs at most.
fn integer_digits(data_type: &DataType) -> i16 {
    match data_type {
        DataType::Int8 | DataType::UInt8 => 3,
        DataType::Int16 | DataType::UInt16 => 5,
        DataType::Int32 | DataType::UInt32 => 10,
        DataType::Int64 => 19,
        _ => 20,
    }
}

/// The type as DDL and `format_type()` spell it.
impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Boolean => f.write_str("boolean"),
            Self::SmallInt => f.write_str("smallint"),
            Self::Integer => f.write_str("integer"),
            Self::BigInt => f.write_str("bigint"),
            Self::Real => f.write_str("real"),
            Self::Double => f.write_str("double precision"),
            Self::Numeric { precision, scale } => write!(f, "numeric({precision},{scale})"),
            Self::Text => f.write_str("text"),
            Self::Varchar { max_chars } => write!(f, "character varying({max_chars})"),
            Self::Bytea => f.write_str("bytea"),
            Self::Date => f.write_str("date"),
            Self::Time => f.write_str("time without time zone"),
            Self::Timestamp => f.write_str("timestamp without time zone"),
            Self::Timestamptz => f.write_str("timestamp with time zone"),
            Self::Jsonb => f.write_str("jsonb"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_parse_and_print_as_the_catalog_does() {
        for (text, printed) in [
            ("BIGINT", "bigint"),
            ("int4", "integer"),
            ("varchar(32)", "character varying(32)"),
            ("character varying(64)", "character varying(64)"),
            ("numeric(12, 2)", "numeric(12,2)"),
            ("timestamp  with time zone", "timestamp with time zone"),
            ("timestamp", "timestamp without time zone"),
            ("double precision", "double precision"),
        ] {
            let parsed = PgType::parse(text).expect(text);
            assert_eq!(parsed.to_string(), printed);
            assert_eq!(PgType::from_catalog(printed), Some(parsed));
        }
        assert!(
            PgType::parse("money")
                .expect_err("money")
                .contains("not supported")
        );
        assert!(PgType::parse("varchar").is_err());
        assert!(PgType::parse("numeric(3,4)").is_err());
    }

    #[test]
    fn only_lossless_widening_is_accepted() {
        assert!(PgType::BigInt.accepts(&DataType::Int32));
        assert!(!PgType::Integer.accepts(&DataType::Int64));
        assert!(!PgType::Timestamp.accepts(&DataType::Utf8));
        assert!(PgType::Integer.accepts(&DataType::UInt16));
        assert!(!PgType::Integer.accepts(&DataType::UInt32));
        let numeric = PgType::Numeric {
            precision: 12,
            scale: 2,
        };
        assert!(numeric.accepts(&DataType::Decimal128(10, 2)));
        assert!(!numeric.accepts(&DataType::Decimal128(12, 3)));
        assert!(!numeric.accepts(&DataType::Decimal128(13, 2)));
        assert!(PgType::Text.accepts(&DataType::Dictionary(
            Box::new(DataType::Int32),
            Box::new(DataType::Utf8)
        )));
    }

    #[test]
    fn parquet_types_map_or_say_why_not() {
        assert_eq!(PgType::from_arrow(&DataType::UInt32), Ok(PgType::BigInt));
        assert_eq!(
            PgType::from_arrow(&DataType::Timestamp(
                TimeUnit::Nanosecond,
                Some("UTC".into())
            )),
            Ok(PgType::Timestamptz)
        );
        let list = DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
            "item",
            DataType::Int32,
            true,
        )));
        assert!(
            PgType::from_arrow(&list)
                .expect_err("nested")
                .contains("jsonb")
        );
    }
}
