//! The soak crate's one integration-test binary: the fault proxy, the soak and its fault
//! matrix, the crash test (against the emulator), and the parser fuzzing (no emulator).

mod fuzz;
mod proxy;
mod soak;
