//! The audit's integration tests.
