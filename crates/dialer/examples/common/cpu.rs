//! This process's CPU time, shared by the benchmarks (included with `#[path]`).

/// CPU time of this process so far (user + system, Linux, in seconds): a process's own
/// share of the work, which the machine's load does not inflate the way it does wall time.
/// NaN where `/proc/self/stat` cannot be read.
pub fn seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    match ticks[..] {
        [user, system] => (user + system) / 100.0,
        _ => f64::NAN,
    }
}
