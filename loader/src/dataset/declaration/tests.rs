use super::*;
use crate::files::pattern::Cadence;

const TRIPS: &str = r#"
[[dataset]]
name = "trips"
table = "taxi.trips"
source = "trips"
files = "dt=%Y-%m-%d/*.parquet"
complete = "_SUCCESS"
partition_column = "Pickup Time"
schema_drift = "add_columns"
streams = 2

[[dataset.columns]]
name = "Pickup Time"
type = "timestamptz"

[[dataset.columns]]
name = "fare"
type = "numeric(10,2)"
not_null = true

[[dataset]]
name = "meters"
table = "energy.readings"
source = "s3://bucket/readings"
files = "%Y/%m/%d/%H.parquet"
partition_column = "read_at"
"#;

fn parse(text: &str) -> Result<Datasets, DatasetError> {
    Datasets::parse(text, Path::new("/etc/dwh"), "data")
}

#[test]
fn a_file_declares_datasets_beside_the_sample() {
    let datasets = parse(TRIPS).expect("valid");
    let names: Vec<&str> = datasets.all().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["sample", "trips", "meters"]);
    assert!(datasets.default_dataset().is_sample());

    let trips = datasets.get("trips").expect("trips");
    assert_eq!(trips.table_display(), "taxi.trips");
    assert_eq!(trips.source, "/etc/dwh/trips", "relative to the file");
    assert_eq!(trips.schema_drift, SchemaDrift::AddColumns);
    assert_eq!(trips.settings.streams, Some(2));
    let columns = trips.columns.as_ref().expect("declared");
    assert_eq!(
        columns[1].pg_type,
        PgType::Numeric {
            precision: 10,
            scale: 2
        }
    );
    assert!(columns[1].not_null);
    assert_eq!(
        trips.layout.rule().complete,
        Completeness::Marker("_SUCCESS".into())
    );

    assert_eq!(trips.timezone, chrono_tz::UTC, "the default");
    let paris = TRIPS.replace("streams = 2", "streams = 2\ntimezone = \"Europe/Paris\"");
    let paris = parse(&paris).expect("valid");
    assert_eq!(
        paris.get("trips").expect("trips").timezone,
        chrono_tz::Europe::Paris
    );

    let meters = datasets.get("meters").expect("meters");
    assert_eq!(meters.source, "s3://bucket/readings");
    assert_eq!(meters.columns, None, "found in the files");
    assert_eq!(meters.layout.rule().cadence, Some(Cadence::Hour));
    assert_eq!(meters.layout.rule().complete, Completeness::All);
}

#[test]
fn an_unknown_dataset_names_the_known_ones() {
    let datasets = parse(TRIPS).expect("valid");
    let error = datasets.get("orders").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "there is no dataset \"orders\"; the datasets are sample, trips, meters"
    );
}

#[test]
fn mistakes_are_reported_with_their_dataset_and_field() {
    let base = TRIPS
        .split("[[dataset]]\nname = \"meters\"")
        .next()
        .expect("first");
    for (change, expected) in [
        (("name = \"trips\"", "name = \"Trips\""), "[a-z][a-z0-9_]*"),
        (
            ("name = \"trips\"", "name = \"sample\""),
            "built-in dataset's name",
        ),
        (
            ("table = \"taxi.trips\"", "table = \"trips\""),
            "write schema.table",
        ),
        (
            ("table = \"taxi.trips\"", "table = \"dwh_history.trips\""),
            "loader's own",
        ),
        (("complete = \"_SUCCESS\"\n", ""), "say when a day is whole"),
        (
            ("type = \"timestamptz\"", "type = \"money\""),
            "not supported",
        ),
        (
            (
                "partition_column = \"Pickup Time\"",
                "partition_column = \"fare\"",
            ),
            "cut by a date",
        ),
        (("streams = 2", "streams = 20"), "streams: 1 to 16"),
        (
            (
                "schema_drift = \"add_columns\"",
                "schema_drift = \"ignore\"",
            ),
            "unknown variant",
        ),
        (("streams = 2", "stream = 2"), "unknown field"),
        (
            ("streams = 2", "streams = 2\nindexes = [\"btree\"]"),
            "write a method and its keys",
        ),
        (
            (
                "source = \"trips\"",
                "source = \"trips\"\ntimezone = \"Mars/Olympus\"",
            ),
            "not a time zone",
        ),
        (("streams = 2", "streams = 2\ndue = \"6am\""), "as HH:MM"),
    ] {
        let text = base.replace(change.0, change.1);
        let error = parse(&text).expect_err(change.1).to_string();
        assert!(error.contains(expected), "{}: {error}", change.1);
    }
}

#[test]
fn live_is_for_a_directory() {
    let live = TRIPS.replace("streams = 2", "streams = 2\nlive = true");
    let datasets = parse(&live).expect("a directory's dataset may be live");
    assert!(datasets.get("trips").expect("trips").live);
    assert!(!datasets.get("meters").expect("meters").live);
    let bucket = TRIPS.replace(
        "files = \"%Y/%m/%d/%H.parquet\"",
        "files = \"%Y/%m/%d/%H.parquet\"\nlive = true",
    );
    let error = parse(&bucket).expect_err("a live bucket").to_string();
    assert!(
        error.contains("is a bucket, whose days load whole"),
        "{error}"
    );
}

#[test]
fn table_names_are_each_one_datasets() {
    let twice = TRIPS.replace("energy.readings", "other.trips");
    let error = parse(&twice).expect_err("same table name").to_string();
    assert!(error.contains("is dataset \"trips\"'s already"), "{error}");
}

#[test]
fn a_dataset_may_say_when_its_days_are_due() {
    let due = TRIPS.replace("streams = 2", "streams = 2\ndue = \"06:30\"");
    let datasets = parse(&due).expect("valid");
    let trips = datasets.get("trips").expect("trips");
    assert_eq!(trips.due.map(|due| due.text()).as_deref(), Some("06:30"));
    assert_eq!(datasets.get("meters").expect("meters").due, None);
    assert_eq!(datasets.default_dataset().due, None);
}
