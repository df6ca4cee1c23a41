//! What the generator, the loader and the API do alike, written once: open a bucket from
//! its URL with the platform's credential variables (`bucket`), set up logging
//! (`logging`), and give TLS its crypto provider (`tls`).

pub mod bucket;
pub mod logging;
pub mod tls;
