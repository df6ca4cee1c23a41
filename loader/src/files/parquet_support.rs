//! What of the Parquet format the loader reads, and how it says what it does not: a file
//! written by another tool with a codec or a feature we lack is refused naming that thing
//! ("LZO codec not supported", "encrypted footer"), never called corrupt, which would send
//! its owner looking for a disk fault.

use std::path::Path;

use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;

use crate::error::InputError;

/// The magic at the end of a Parquet file whose footer is encrypted ("PAR1" otherwise).
const ENCRYPTED_MAGIC: &[u8; 4] = b"PARE";

/// What to say of a file that ends with an encrypted footer.
pub(crate) const ENCRYPTED_FOOTER: &str =
    "encrypted footer: encrypted Parquet files are not supported (the loader holds no keys)";

/// Whether `tail`, the last bytes of a file, ends with an encrypted footer's magic.
pub(crate) fn has_encrypted_footer(tail: &[u8]) -> bool {
    tail.ends_with(ENCRYPTED_MAGIC)
}

/// What to say of an encrypted column in a file whose footer is not encrypted.
pub(crate) const ENCRYPTED_COLUMN: &str =
    "encrypted column: encrypted Parquet files are not supported (the loader holds no keys)";

/// Refuses a file whose column chunks the loader cannot decode, naming the column, before
/// any of its rows is read: one with a codec the `parquet` crate lacks (every codec the
/// crate implements is built in, see the workspace's `Cargo.toml`, which leaves LZO), or
/// an encrypted one.
pub(crate) fn check_chunks(metadata: &ParquetMetaData) -> Result<(), InputError> {
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            let refused =
                |reason: String| InputError::file("", reason).column(&chunk.column_path().string());
            if let Some(codec) = unsupported_codec(chunk.compression()) {
                return Err(refused(format!("{codec} codec not supported")));
            }
            if chunk.crypto_metadata().is_some() {
                return Err(refused(ENCRYPTED_COLUMN.to_owned()));
            }
        }
    }
    Ok(())
}

/// The name of `compression` when it cannot be decoded.
fn unsupported_codec(compression: Compression) -> Option<&'static str> {
    match compression {
        Compression::UNCOMPRESSED
        | Compression::SNAPPY
        | Compression::GZIP(_)
        | Compression::BROTLI(_)
        | Compression::LZ4
        | Compression::ZSTD(_)
        | Compression::LZ4_RAW => None,
        Compression::LZO => Some("LZO"),
    }
}

/// `path` is not a Parquet file the loader can read: what its footer or reader said of it.
pub(crate) fn unreadable(path: &Path, error: &dyn std::fmt::Display) -> InputError {
    InputError::file(path, describe(error, "not a readable Parquet file"))
}

/// Says what Parquet reported: the unsupported thing by name when that is the cause,
/// otherwise `corrupt` (what the data itself is) followed by the reader's words. Read from
/// the text, since a batch's error comes as Arrow's, which carries Parquet's only as text.
pub(crate) fn describe(error: &dyn std::fmt::Display, corrupt: &str) -> String {
    let text = error.to_string();
    if let Some((_, feature)) = text.split_once("Disabled feature at compile time: ") {
        format!("{feature} codec not supported")
    } else if text.contains("encrypted footer") {
        ENCRYPTED_FOOTER.to_owned()
    } else if let Some((_, what)) = text.split_once("NYI: ") {
        format!("not supported: {what}")
    } else {
        format!("{corrupt}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parquet::basic::Type as PhysicalType;
    use parquet::file::metadata::{
        ColumnChunkMetaData, FileMetaData, ParquetMetaData, RowGroupMetaData,
    };
    use parquet::schema::types::{SchemaDescriptor, Type};

    use parquet::errors::ParquetError;

    use super::*;

    /// Metadata of a file with one row group whose one column, `product_name`, is
    /// compressed with `codec`.
    fn metadata_with(codec: Compression) -> ParquetMetaData {
        let field = Type::primitive_type_builder("product_name", PhysicalType::BYTE_ARRAY)
            .build()
            .expect("a column");
        let root = Type::group_type_builder("schema")
            .with_fields(vec![Arc::new(field)])
            .build()
            .expect("a schema");
        let schema = Arc::new(SchemaDescriptor::new(Arc::new(root)));
        let chunk = ColumnChunkMetaData::builder(schema.column(0))
            .set_compression(codec)
            .build()
            .expect("a column chunk");
        let group = RowGroupMetaData::builder(schema.clone())
            .set_num_rows(1)
            .set_column_metadata(vec![chunk])
            .build()
            .expect("a row group");
        let file = FileMetaData::new(2, 1, None, None, schema, None);
        ParquetMetaData::new(file, vec![group])
    }

    #[test]
    fn lzo_is_refused_naming_the_codec_and_the_column() {
        let error = check_chunks(&metadata_with(Compression::LZO)).expect_err("LZO is refused");
        assert_eq!(error.reason, "LZO codec not supported");
        assert_eq!(error.column.as_deref(), Some("product_name"));
    }

    /// Every codec but LZO passes the check, and a file written with it reads back: the
    /// crate's feature for it is built in.
    #[test]
    fn every_other_codec_of_the_format_is_read() {
        use arrow_array::{ArrayRef, RecordBatch, StringArray};
        use parquet::arrow::ArrowWriter;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::basic::{BrotliLevel, GzipLevel, ZstdLevel};
        use parquet::file::properties::WriterProperties;

        let values: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "a"]));
        let batch = RecordBatch::try_from_iter([("product_name", values)]).expect("a batch");
        for codec in [
            Compression::UNCOMPRESSED,
            Compression::SNAPPY,
            Compression::GZIP(GzipLevel::default()),
            Compression::BROTLI(BrotliLevel::default()),
            Compression::LZ4,
            Compression::ZSTD(ZstdLevel::default()),
            Compression::LZ4_RAW,
        ] {
            check_chunks(&metadata_with(codec)).expect("a codec the loader reads");
            let properties = WriterProperties::builder().set_compression(codec).build();
            let mut bytes = Vec::new();
            let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties))
                .expect("a writer");
            writer.write(&batch).expect("written");
            writer.close().expect("closed");
            let read: Vec<RecordBatch> =
                ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                    .expect("a footer")
                    .build()
                    .expect("a reader")
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{codec}: {e}"));
            assert_eq!(read, vec![batch.clone()], "{codec}");
        }
    }

    #[test]
    fn errors_name_the_unsupported_thing_and_call_only_bad_data_corrupt() {
        let said = |e: ParquetError| describe(&e, "corrupt data after row 0");
        assert_eq!(
            said(ParquetError::General(
                "Disabled feature at compile time: brotli".into()
            )),
            "brotli codec not supported"
        );
        assert_eq!(
            said(ParquetError::General(
                "Parquet file has an encrypted footer but the encryption feature is disabled"
                    .into()
            )),
            ENCRYPTED_FOOTER
        );
        assert_eq!(
            said(ParquetError::NYI("Encoding FOO is not supported".into())),
            "not supported: Encoding FOO is not supported"
        );
        assert_eq!(
            said(ParquetError::EOF("unexpected end of page".into())),
            "corrupt data after row 0: EOF: unexpected end of page"
        );
        // As a batch's error carries it.
        let arrow = arrow_schema::ArrowError::ParquetError(
            ParquetError::General("Disabled feature at compile time: brotli".into()).to_string(),
        );
        assert_eq!(describe(&arrow, "corrupt"), "brotli codec not supported");
    }
}
