//! Why a run could not write its files: the directory, a file, the bucket, or the
//! encoder, each named with the path or URL it was writing.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot create the output directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source} (check free space and permissions)", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write to {url}: {reason}")]
    Bucket { url: String, reason: String },
    #[error("cannot encode {name}: {source}")]
    Encode {
        name: String,
        source: parquet::errors::ParquetError,
    },
}
