//! What the generator, the loader and the API do alike, written once: open a bucket from
//! its URL with the platform's credential variables (`bucket`), and set up logging
//! (`logging`).

pub mod bucket;
pub mod logging;
