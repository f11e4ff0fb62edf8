//! The entry of a bench binary (`harness = false`): `cargo bench` runs it, test runners only
//! list it.

/// The runtime a bench runs on, when `cargo bench` started it (it passes `--bench`); `None` when
/// a test runner did (`cargo test --all-targets` and nextest list or run bench targets as
/// tests): the bench has no tests, so its `main` returns at once and answers with none.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    if !std::env::args().skip(1).any(|a| a == "--bench") {
        return None;
    }
    Some(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("the bench's runtime: {e}")),
    )
}
