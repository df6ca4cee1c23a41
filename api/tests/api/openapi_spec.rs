//! `openapi/openapi.json` is the committed contract: it must equal what the code
//! generates. The test only compares; regenerating is a command of its own (so that the
//! test can never pass by writing what it checks):
//!
//!     cargo run -q -p api --bin openapi > openapi/openapi.json

use std::path::Path;

#[test]
fn the_committed_spec_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let generated = api::openapi::spec_json();
    let committed = std::fs::read_to_string(&path).expect("openapi/openapi.json is committed");
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with\n    \
         cargo run -q -p api --bin openapi > openapi/openapi.json"
    );
}

#[test]
fn every_operation_documents_its_errors_as_problems() {
    let spec: serde_json::Value = serde_json::from_str(&api::openapi::spec_json()).expect("json");
    let paths = spec["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 14);
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            let responses = operation["responses"].as_object().expect("responses");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not a problem document"
                    );
                }
            }
        }
    }
}
