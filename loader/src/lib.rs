//! Loader (see its issue).
