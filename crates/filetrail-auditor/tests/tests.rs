//! The auditor crate's tests: its configuration, the metrics manifest, and the built binary under the Runtime API
//! stand-in against the emulator.

mod config;
mod lambda;
mod metrics;
