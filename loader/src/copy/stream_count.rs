//! How many COPY streams a load runs side by side: one type from the command-line flag
//! or environment variable to the plan.

use std::fmt;
use std::str::FromStr;

/// The number of parallel COPY connections of a load, 1 to [`Streams::MAX`]. More than
/// the server's cores only adds contention; 2 is the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Streams(u8);

impl Streams {
    /// More connections than this would only queue on the server's cores and the pool.
    pub const MAX: u8 = 16;

    /// `n` streams, or `None` unless `1 <= n <= MAX`.
    pub const fn new(n: u8) -> Option<Self> {
        if n >= 1 && n <= Self::MAX {
            Some(Self(n))
        } else {
            None
        }
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

impl Default for Streams {
    fn default() -> Self {
        Self(2)
    }
}

impl fmt::Display for Streams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a number of streams was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the number of COPY streams must be a whole number from 1 to {max}; got {input:?}")]
pub struct StreamsError {
    input: String,
    max: u8,
}

impl FromStr for Streams {
    type Err = StreamsError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        input
            .trim()
            .parse::<u8>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| StreamsError {
                input: input.to_owned(),
                max: Self::MAX,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_sixteen_streams_parse() {
        assert_eq!("1".parse::<Streams>().map(Streams::get), Ok(1));
        assert_eq!(" 16 ".parse::<Streams>().map(Streams::get), Ok(16));
        assert_eq!(Streams::default().get(), 2);
        assert_eq!(Streams::default().to_string(), "2");
    }

    #[test]
    fn anything_else_is_refused_with_the_range() {
        for input in ["0", "17", "-1", "two", "", "300"] {
            let error = input.parse::<Streams>().expect_err(input);
            assert_eq!(
                error.to_string(),
                format!(
                    "the number of COPY streams must be a whole number from 1 to 16; got {input:?}"
                )
            );
        }
    }
}
