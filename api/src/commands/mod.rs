//! What the API's users ask it to do, whichever door they come in by (a JSON request or a
//! dashboard button): queue a day, a range (a backfill) or a rollback, and cancel a job.
//! Routes parse the request, call one of these, and answer.

pub mod cancel;
pub mod queue_day;
pub mod queue_range;
pub mod queue_rollback;
