//! Shared helpers for libworker's benchmark programs: argument parsing, latency statistics,
//! RSS readings and the result table every program prints.
//!
//! The programs print figures next to their goals; they never fail because a goal was missed.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use worker_core::{Engine, EngineConfig, SourceLoader, WorkerSource};

/// `--name value` options from the command line (also `--name=value`). `--help` prints `usage`.
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Parses `std::env::args`; exits with `usage` on `--help` or a malformed argument.
    pub fn parse(usage: &str) -> Args {
        let mut values = HashMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            if arg == "--help" || arg == "-h" {
                println!("{usage}");
                std::process::exit(0);
            }
            let Some(name) = arg.strip_prefix("--") else {
                eprintln!("unexpected argument {arg:?}\n{usage}");
                std::process::exit(2);
            };
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => match it.next() {
                    Some(v) => (name.to_string(), v),
                    None => {
                        eprintln!("--{name} needs a value\n{usage}");
                        std::process::exit(2);
                    }
                },
            };
            values.insert(name, value);
        }
        Args { values }
    }

    /// A numeric option, or `default` when absent.
    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.values.get(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                eprintln!("--{name}: cannot parse {v:?}");
                std::process::exit(2);
            }),
        }
    }
}

/// Order statistics of a set of latency samples.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub count: usize,
    pub min: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

impl Stats {
    /// Computes the statistics (nearest-rank percentiles). `samples` must not be empty.
    pub fn of(mut samples: Vec<Duration>) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: f64| samples[(((p / 100.0) * n as f64).ceil() as usize).clamp(1, n) - 1];
        let total: Duration = samples.iter().sum();
        Stats {
            count: n,
            min: samples[0],
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            max: samples[n - 1],
            mean: total / n as u32,
        }
    }
}

/// A duration in the most readable unit: `850 ns`, `12.3 µs`, `1.42 ms`, `2.10 s`.
pub fn fmt_dur(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// Whether a measured figure meets its goal, for the last column of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// Informational row without a goal.
    None,
}

impl Verdict {
    /// `Met` when `measured <= goal`.
    pub fn at_most(measured: f64, goal: f64) -> Verdict {
        if measured <= goal {
            Verdict::Met
        } else {
            Verdict::Missed
        }
    }
}

/// The result table: metric, measured value, goal, verdict.
pub struct Table {
    title: String,
    rows: Vec<[String; 4]>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Table {
        Table {
            title: title.into(),
            rows: Vec::new(),
        }
    }

    /// A row with a goal (`goal` is the printed goal, e.g. `≤ 20 µs`).
    pub fn row(
        &mut self,
        metric: impl Into<String>,
        measured: impl Into<String>,
        goal: &str,
        v: Verdict,
    ) {
        let verdict = match v {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::None => "",
        };
        self.rows.push([
            metric.into(),
            measured.into(),
            goal.to_string(),
            verdict.to_string(),
        ]);
    }

    /// An informational row without a goal.
    pub fn info(&mut self, metric: impl Into<String>, measured: impl Into<String>) {
        self.row(metric, measured, "", Verdict::None);
    }

    /// Renders the table as aligned plain text.
    pub fn render(&self) -> String {
        let header = ["metric", "measured", "goal", ""];
        let mut width = header.map(|h| h.chars().count());
        for r in &self.rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String; 4]| {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(width).enumerate() {
                let pad = w - c.chars().count();
                if i == 1 {
                    // Right-align figures.
                    let _ = write!(s, "{}{}  ", " ".repeat(pad), c);
                } else {
                    let _ = write!(s, "{}{}  ", c, " ".repeat(pad));
                }
            }
            s.trim_end().to_string()
        };
        let total: usize = width.iter().sum::<usize>() + 6;
        let mut out = format!("== {} ==\n", self.title);
        out.push_str(&line(&header.map(String::from)));
        out.push('\n');
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// The process's resident set size in KiB (`VmRSS` in /proc/self/status).
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resident memory (KiB) by kind of mapping, from /proc/self/smaps: what an RSS difference is
/// made of. Anonymous mappings are told apart by size: V8 allocates its heap in 256 KiB pages
/// (adjacent ones may be merged into one mapping by the kernel), glibc's thread arenas and V8's
/// code range are reservations of 64 MiB and more. A rough guide, not an exact attribution.
pub fn rss_by_kind() -> std::collections::BTreeMap<&'static str, u64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return out;
    };
    let mut kind = "other";
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            let path = fields.nth(4).unwrap_or("");
            let size = end - start;
            kind = match path {
                "[heap]" => "brk heap (main malloc arena)",
                p if p.starts_with('/') => "file-backed (code, data)",
                "" if size == 256 << 10 => "anon = 256 KiB (one V8 heap page)",
                "" if size >= 32 << 20 => "anon >= 32 MiB (malloc arenas, V8 code range)",
                "" => "anon other (merged V8 pages, big mallocs)",
                _ => "other ([stack], [vdso], ...)",
            };
        } else if first == "Rss:" {
            let kib: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            *out.entry(kind).or_insert(0) += kib;
        }
    }
    out
}

/// The hello worker every benchmark runs; `tag` makes the source unique per worker when set, so
/// no cache keyed by source text can share work between workers.
pub fn hello_source(tag: Option<&str>) -> WorkerSource {
    match tag {
        None => {
            WorkerSource::module("export default { fetch() { return new Response(\"hello\") } }\n")
        }
        Some(t) => WorkerSource::module(format!(
            "// worker {t}\nexport default {{ fetch() {{ return new Response(\"hello\") }} }}\n"
        )),
    }
}

/// A loader serving the hello worker for every site; with `unique`, each site gets its own
/// source text (tagged with the site id).
pub fn hello_loader(unique: bool) -> Arc<dyn SourceLoader> {
    Arc::new(
        move |site: &str, _deploy: &str| -> Result<WorkerSource, String> {
            Ok(hello_source(unique.then_some(site)))
        },
    )
}

/// Builds an engine or exits with the error: a benchmark without an engine has nothing to print.
pub fn engine(config: EngineConfig, loader: Arc<dyn SourceLoader>) -> Engine {
    match Engine::new(config, loader) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("Engine::new failed: {e}");
            std::process::exit(1);
        }
    }
}

/// One line describing the engine configuration, printed above each table.
pub fn describe(config: &EngineConfig) -> String {
    format!(
        "engine: pool_size={} warm_isolates={} max_resident_workers={} memory_limit_mb={}; host: {} cpus",
        config.pool_size,
        config.warm_isolates,
        config.max_resident_workers,
        config.memory_limit_mb,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s = Stats::of((1..=100).map(Duration::from_micros).collect());
        assert_eq!(s.p50, Duration::from_micros(50));
        assert_eq!(s.p99, Duration::from_micros(99));
        assert_eq!(s.max, Duration::from_micros(100));
        assert_eq!(s.min, Duration::from_micros(1));
        let one = Stats::of(vec![Duration::from_micros(7)]);
        assert_eq!(one.p50, Duration::from_micros(7));
        assert_eq!(one.p99, Duration::from_micros(7));
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(fmt_dur(Duration::from_nanos(850)), "850 ns");
        assert_eq!(fmt_dur(Duration::from_nanos(12_345)), "12.3 µs");
        assert_eq!(fmt_dur(Duration::from_micros(1_420)), "1.42 ms");
    }

    #[test]
    fn rss_is_readable_on_linux() {
        assert!(rss_kib().unwrap() > 0);
        let kinds = rss_by_kind();
        assert!(kinds.values().sum::<u64>() > 0, "{kinds:?}");
    }
}
