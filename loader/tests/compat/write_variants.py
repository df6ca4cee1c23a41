"""A directory of minute files, rewritten by other Parquet writers and writer options.

    write_variants.py IN_DIR OUT_ROOT

Every `*.parquet` file of IN_DIR is rewritten, under the same name, into one subdirectory
of OUT_ROOT per variant, so that each subdirectory can stand in for IN_DIR: the loader
must load the same rows whichever writer and options produced the files. A variant's
subdirectory is replaced if it exists. Prints the name of each variant written; a
variant that cannot hold exactly the input's values is skipped with a note on stderr.
Each written file is read back and compared with its input, so a broken variant fails
here rather than as a puzzling load failure. Exits non-zero on any failure.
"""

import shutil
import sys
from pathlib import Path

import base64

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pqe


class Skip(Exception):
    """The variant cannot represent the input's values exactly."""


def with_types(table, convert):
    """`table` with each field's type replaced by `convert(type)`, metadata kept."""
    fields = [field.with_type(convert(field.type)) for field in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def strings_as(string_type):
    return lambda t: with_types(t, lambda ty: string_type if pa.types.is_string(ty) else ty)


def timestamps_in(unit):
    def cast(table):
        def convert(ty):
            return pa.timestamp(unit, ty.tz) if pa.types.is_timestamp(ty) else ty

        try:
            # A safe cast refuses to drop digits, so a coarser unit is used only when exact.
            return with_types(table, convert)
        except pa.ArrowInvalid as error:
            raise Skip(f"values are not whole {unit} ({error})") from error

    return cast


def pyarrow_variant(transform=None, **options):
    def write(source, target):
        table = pq.read_table(source)
        pq.write_table(transform(table) if transform else table, target, **options)

    return write


def duckdb_variant(*options):
    def write(source, target):
        def quote(path):
            return "'" + str(path).replace("'", "''") + "'"

        settings = ", ".join(("FORMAT parquet",) + options)
        with duckdb.connect() as connection:
            connection.execute(
                f"COPY (SELECT * FROM read_parquet({quote(source)})) "
                f"TO {quote(target)} ({settings})"
            )

    return write


def polars_variant(**options):
    def write(source, target):
        pl.read_parquet(source).write_parquet(target, **options)

    return write


def variants():
    """(directory name, writer) pairs; a writer rewrites one file to another path."""
    # pyarrow writes "lz4" as the LZ4_RAW codec; it cannot write the older LZ4 codec.
    codecs = ("none", "snappy", "gzip", "brotli", "lz4", "zstd")
    # Parquet has no seconds unit: pyarrow stores `s` as ms and embeds an Arrow schema
    # that says `s`, which a reader may or may not honour.
    units = ("s", "ms", "us", "ns")
    return (
        [(f"pyarrow-{codec}", pyarrow_variant(compression=codec)) for codec in codecs]
        + [
            ("pyarrow-page-v1", pyarrow_variant(data_page_version="1.0")),
            ("pyarrow-page-v2", pyarrow_variant(data_page_version="2.0")),
            ("pyarrow-dict", pyarrow_variant(use_dictionary=True)),
            ("pyarrow-no-dict", pyarrow_variant(use_dictionary=False)),
            ("pyarrow-int96", pyarrow_variant(use_deprecated_int96_timestamps=True)),
        ]
        + [(f"pyarrow-ts-{unit}", pyarrow_variant(timestamps_in(unit))) for unit in units]
        + [
            ("pyarrow-large-string", pyarrow_variant(strings_as(pa.large_string()))),
            ("pyarrow-string-view", pyarrow_variant(strings_as(pa.string_view()))),
            ("pyarrow-dictionary",
             pyarrow_variant(strings_as(pa.dictionary(pa.int32(), pa.string())))),
            ("pyarrow-row-groups-7", pyarrow_variant(row_group_size=7)),
            ("duckdb", duckdb_variant()),
            ("duckdb-zstd", duckdb_variant("COMPRESSION zstd")),
            ("duckdb-brotli", duckdb_variant("COMPRESSION brotli")),
            ("polars", polars_variant()),
            ("polars-brotli", polars_variant(compression="brotli")),
            ("polars-lz4", polars_variant(compression="lz4")),
        ]
    )


class KeysInMemory(pqe.KmsClient):
    """A key service for writing encrypted files: the master keys are in its configuration
    (no real service is reached), and a wrapped key is the data key itself, base64."""

    def __init__(self, _config):
        super().__init__()

    def wrap_key(self, key_bytes, _master_key_identifier):
        return base64.b64encode(key_bytes).decode()

    def unwrap_key(self, wrapped_key, _master_key_identifier):
        return base64.b64decode(wrapped_key)


def encrypted_variant(plaintext_footer):
    """Parquet modular encryption: the footer and `product_name` encrypted, or (with
    `plaintext_footer`) only the column, its footer readable by readers without the key."""

    def write(source, target):
        factory = pqe.CryptoFactory(KeysInMemory)
        connection = pqe.KmsConnectionConfig(
            custom_kms_conf={"footer": "0123456789012345", "column": "1234567890123450"}
        )
        encryption = pqe.EncryptionConfiguration(
            footer_key="footer",
            column_keys={"column": ["product_name"]},
            plaintext_footer=plaintext_footer,
            double_wrapping=False,
        )
        properties = factory.file_encryption_properties(connection, encryption)
        pq.write_table(pq.read_table(source), target, encryption_properties=properties)

    return write


def refused_variants():
    """(directory name, writer) pairs of files the loader must refuse, naming why; they are
    not read back, having no plain reading."""
    return [
        ("refused-encrypted-footer", encrypted_variant(plaintext_footer=False)),
        ("refused-encrypted-column", encrypted_variant(plaintext_footer=True)),
    ]


def comparable(table, like):
    """`table` cast to the types of `like`, failing on a time zone or a lossy cast."""
    if table.column_names != like.column_names:
        raise ValueError(f"columns {table.column_names}, expected {like.column_names}")
    for field in table.schema:
        # A cast would quietly drop a time zone, which changes what the values mean.
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            raise ValueError(f"{field.name} has time zone {field.type.tz}")
    return table.cast(like.schema.remove_metadata(), safe=True)


def verify(source, target):
    expected = pq.read_table(source)
    actual = comparable(pq.read_table(target), expected)
    if not actual.equals(expected.replace_schema_metadata(None)):
        raise ValueError(f"{target} does not read back to the rows of {source}")


def write_variant(directory, write, inputs, check=True):
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    try:
        for source in inputs:
            target = directory / source.name
            write(source, target)
            if check:
                verify(source, target)
    except Skip:
        # A partial directory would pass for a complete copy of the input.
        shutil.rmtree(directory)
        raise


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} IN_DIR OUT_ROOT")
    in_dir, out_root = Path(argv[1]), Path(argv[2])
    inputs = sorted(in_dir.glob("*.parquet"))
    if not inputs:
        sys.exit(f"no .parquet files in {in_dir}")
    if out_root.resolve() == in_dir.resolve():
        sys.exit("OUT_ROOT must not be IN_DIR")
    checked = [(name, write, True) for name, write in variants()]
    refused = [(name, write, False) for name, write in refused_variants()]
    for name, write, check in checked + refused:
        try:
            write_variant(out_root / name, write, inputs, check)
        except Skip as reason:
            print(f"skipped: {name}: {reason}", file=sys.stderr)
            continue
        except Exception:
            print(f"failed: {name}", file=sys.stderr)
            raise
        print(name, flush=True)


if __name__ == "__main__":
    main(sys.argv)
