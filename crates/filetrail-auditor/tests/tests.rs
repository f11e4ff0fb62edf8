//! The auditor crate's tests: the metrics manifest, and the built binary under the Runtime API
//! stand-in against the emulator.

mod lambda;
mod metrics;
