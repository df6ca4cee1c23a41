//! What a listed day's files are now: their sizes and times read again, and each one
//! checked to be a regular file before anything opens it.

use std::path::PathBuf;
use std::time::SystemTime;

use super::{DayFiles, DirEntryInfo, FilesSummary};
use crate::error::{InputError, LoadError};

impl DayFiles {
    /// What the canonical files are now: how many, their bytes, and the newest
    /// modification time among them (`None` without files). Reads each file's metadata.
    pub fn summary(&self) -> std::io::Result<FilesSummary> {
        let mut summary = FilesSummary {
            files: self.minutes.len(),
            bytes: 0,
            newest: None,
        };
        for entry in self.minutes.values() {
            if let Some(object) = &entry.object {
                summary.bytes += object.size;
                let modified = SystemTime::from(object.last_modified);
                summary.newest = Some(summary.newest.map_or(modified, |n| n.max(modified)));
                continue;
            }
            let metadata = match std::fs::metadata(&entry.path) {
                Ok(metadata) => metadata,
                // Gone since the listing (a move in progress): not one of the files now.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    summary.files -= 1;
                    continue;
                }
                Err(error) => return Err(error),
            };
            summary.bytes += metadata.len();
            let modified = metadata.modified()?;
            summary.newest = Some(
                summary
                    .newest
                    .map_or(modified, |n: SystemTime| n.max(modified)),
            );
        }
        Ok(summary)
    }

    /// The files, in minute order, after checking that each is a regular file (or a link
    /// to one): a directory, FIFO, socket or dangling link is refused before anything
    /// opens it, since reading a FIFO could block forever.
    pub fn regular_files(&self) -> Result<Vec<PathBuf>, LoadError> {
        self.minutes
            .values()
            .map(|entry| {
                let is_file = match entry.file_type {
                    _ if entry.object.is_some() => true,
                    Some(t) if t.is_file() => true,
                    Some(t) if t.is_symlink() => std::fs::metadata(&entry.path)
                        .map(|m| m.is_file())
                        .unwrap_or(false),
                    _ => false,
                };
                if is_file {
                    Ok(entry.path.clone())
                } else {
                    Err(InputError::file(&entry.path, not_regular(entry)).into())
                }
            })
            .collect()
    }
}

fn not_regular(entry: &DirEntryInfo) -> String {
    use std::os::unix::fs::FileTypeExt;
    let what = match entry.file_type {
        Some(t) if t.is_dir() => "a directory",
        Some(t) if t.is_fifo() => "a FIFO",
        Some(t) if t.is_socket() => "a socket",
        Some(t) if t.is_symlink() => "a link to nothing readable as a file",
        Some(t) if t.is_block_device() || t.is_char_device() => "a device",
        _ => "not a file",
    };
    format!("is {what}, not a regular file; it is not read")
}
