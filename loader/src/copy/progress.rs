//! Where a running load stands, and the totals it is measured against (the rows of a
//! bucket's day are known only once the footers checked during the copy are read).

use std::sync::OnceLock;

use serde::Serialize;

/// Where a running load stands; reported after each file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LoadProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub rows_done: u64,
    pub rows_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// The day's totals: files and bytes as listed, rows once every footer is read.
#[derive(Debug)]
pub(crate) struct Totals {
    pub files: u64,
    pub bytes: u64,
    rows: OnceLock<u64>,
}

impl Totals {
    /// Totals whose rows the footers already told.
    pub fn known(files: u64, bytes: u64, rows: u64) -> Self {
        Self {
            files,
            bytes,
            rows: OnceLock::from(rows),
        }
    }

    /// Totals whose rows are set once the footers checked during the copy are read.
    pub fn rows_unknown(files: u64, bytes: u64) -> Self {
        Self {
            files,
            bytes,
            rows: OnceLock::new(),
        }
    }

    /// The rows of the day's files, once every footer is read.
    pub fn rows(&self) -> Option<u64> {
        self.rows.get().copied()
    }

    pub fn set_rows(&self, rows: u64) {
        let _ = self.rows.set(rows);
    }

    /// Progress before anything is copied, once the rows are known.
    pub fn progress(&self) -> Option<LoadProgress> {
        Some(LoadProgress {
            files_total: self.files,
            rows_total: self.rows()?,
            bytes_total: self.bytes,
            ..LoadProgress::default()
        })
    }
}
