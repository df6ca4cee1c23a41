//! What the API's users ask to see, whichever door they come in by (a JSON request or a
//! dashboard page): where each day stands, what is known of each day's files (without a
//! listing per request), pages of jobs, a day's versions, the datasets.

pub mod datasets;
pub mod days;
pub mod files;
pub mod jobs;
pub mod versions;
