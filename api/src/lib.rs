//! The HTTP job service (see its issue); the crate is a placeholder until then.
