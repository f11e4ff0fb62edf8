//! What this process used, from Linux's `/proc/self`, for the benches' figures.

use std::time::Duration;

fn proc_self(file: &str) -> String {
    std::fs::read_to_string(format!("/proc/self/{file}"))
        .unwrap_or_else(|e| panic!("/proc/self/{file}: {e} (the benches run on Linux)"))
}

/// CPU time used so far by every thread of the process, to the nanosecond
/// (`CLOCK_PROCESS_CPUTIME_ID`; `/proc/self/stat`'s utime + stime count 10 ms ticks, too coarse
/// for one 70 ms round).
pub fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The median of `samples` (the upper one of an even count); zero when there are none.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Reset the kernel's peak-RSS mark (VmHWM), so the next reading covers only what follows.
pub fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5")
        .unwrap_or_else(|e| panic!("reset the peak RSS: {e}"));
}

/// The peak resident set size (VmHWM) since the start or the last [`reset_peak`], in MiB.
pub fn peak_rss_mb() -> f64 {
    let kb: f64 = proc_self("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/self/status"));
    kb / 1024.0
}
