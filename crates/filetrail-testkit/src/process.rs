//! What this process used, from Linux's `/proc/self`, for the benches' figures.

use std::time::Duration;

fn proc_self(file: &str) -> String {
    std::fs::read_to_string(format!("/proc/self/{file}"))
        .unwrap_or_else(|e| panic!("/proc/self/{file}: {e} (the benches run on Linux)"))
}

/// CPU time used so far: utime + stime from `/proc/self/stat`, in clock ticks (100 Hz).
pub fn cpu_time() -> Duration {
    let stat = proc_self("stat");
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| -> u64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0) };
    Duration::from_millis((field(11) + field(12)) * 10)
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
