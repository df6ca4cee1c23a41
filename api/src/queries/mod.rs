//! What the API's users ask to see, whichever door they come in by (a JSON request or a
//! dashboard page): where each day stands, pages of jobs, a day's versions.

pub mod days;
pub mod jobs;
pub mod versions;
