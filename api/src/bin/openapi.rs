//! Prints the OpenAPI document the code generates: the contract committed as
//! `openapi/openapi.json`, which a test compares with the code. Regenerate it with
//!
//!     cargo run -q -p api --bin openapi > openapi/openapi.json

use std::io::Write;

fn main() -> std::io::Result<()> {
    std::io::stdout().write_all(api::openapi::spec_json().as_bytes())
}
