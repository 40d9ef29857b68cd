//! (c) Resident memory per worker: process RSS before and after making N distinct hello workers
//! resident (one request each). Goal: ≤ 1.2 MB per resident worker.
use std::sync::Arc;
use std::time::{Duration, Instant};

use worker_benches::{
    Args, Table, Verdict, describe, engine, fmt_dur, hello_loader, rss_by_kind, rss_kib,
};
use worker_core::{EngineConfig, Env, ExecuteResult, WorkerRequest};

const USAGE: &str = "memory_per_worker [--workers N] [--pool P] [--warm W] [--settle-ms MS]

Reads VmRSS from /proc/self/status after the engine is up and one worker has run (baseline,
spare isolates included), then sends one request to each of N never-seen workers (distinct site
ids and source texts) and reads VmRSS again after a pause of --settle-ms. Prints
(after - baseline) / N, plus RSS at each quarter. max_resident_workers is set above N so nothing
is evicted. Defaults: --workers 1000 --settle-ms 1000.";

const GOAL_MB: f64 = 1.2;

fn check(r: &ExecuteResult, site: &str) {
    if r.error.is_some() || r.status != 200 || r.body != b"hello" {
        match &r.error {
            Some(e) => eprintln!("{site}: failed: {:?}: {e}\n{}", e.kind, e.stack),
            None => eprintln!("{site}: answered {} {:?}", r.status, r.text()),
        }
        std::process::exit(1);
    }
}

fn rss() -> u64 {
    rss_kib().unwrap_or_else(|| {
        eprintln!("cannot read VmRSS from /proc/self/status");
        std::process::exit(1);
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let args = Args::parse(USAGE);
    let n: usize = args.num("workers", 1000);
    let settle = Duration::from_millis(args.num("settle-ms", 1000));
    let mut config = EngineConfig::default();
    config.pool_size = args.num("pool", config.pool_size);
    config.warm_isolates = args.num("warm", config.warm_isolates);
    config.max_resident_workers = config.max_resident_workers.max(n + 100);
    println!("{}", describe(&config));

    let rss_process = rss();
    let engine = engine(config, hello_loader(true));
    let env = Arc::new(Env::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let request = || WorkerRequest::get("http://bench.local/");

    rt.block_on(async {
        let r = engine
            .execute("mem-warmup", "v1", env.clone(), request())
            .await;
        check(&r, "mem-warmup");
        tokio::time::sleep(settle).await;
    });
    let base = rss();
    let base_kinds = rss_by_kind();

    let mut quarters = Vec::new();
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let site = format!("mem-{i}");
            let r = engine.execute(&site, "v1", env.clone(), request()).await;
            check(&r, &site);
            if (i + 1) % (n / 4).max(1) == 0 || i + 1 == n {
                quarters.push((i + 1, rss()));
            }
        }
    });
    let load_time = start.elapsed();
    let before_settle = rss();
    std::thread::sleep(settle);
    let after = rss();
    let after_kinds = rss_by_kind();

    // Is the first worker still resident? A warm request answers in microseconds; an evicted
    // worker would have to be loaded and compiled again.
    let mut revisit = [Duration::ZERO; 2];
    for slot in &mut revisit {
        let t = Instant::now();
        let r = rt.block_on(engine.execute("mem-0", "v1", env.clone(), request()));
        *slot = t.elapsed();
        check(&r, "mem-0");
    }
    engine.shutdown();

    // The goal is in MB (10^6 bytes), the stricter reading; RSS rows are in MiB.
    let per_worker_mb = (after.saturating_sub(base)) as f64 * 1024.0 / 1e6 / n as f64;
    let mut table = Table::new(format!("memory_per_worker: {n} resident hello workers"));
    table.info("RSS at start of process", mib(rss_process));
    table.info("RSS baseline (engine + 1 worker)", mib(base));
    for (count, kib) in &quarters {
        table.info(format!("RSS after {count} workers"), mib(*kib));
    }
    table.info(
        "RSS before / after settle",
        format!("{} / {}", mib(before_settle), mib(after)),
    );
    if let [.., (c1, r1), (c2, r2)] = quarters[..] {
        table.info(
            format!("marginal MiB/worker ({c1}..{c2})"),
            format!(
                "{:.3}",
                (r2.saturating_sub(r1)) as f64 / 1024.0 / (c2 - c1) as f64
            ),
        );
    }
    table.row(
        "MB per resident worker",
        format!("{per_worker_mb:.3}"),
        "≤ 1.2 MB",
        Verdict::at_most(per_worker_mb, GOAL_MB),
    );
    table.info(
        "time to make all resident",
        format!(
            "{} ({} per worker)",
            fmt_dur(load_time),
            fmt_dur(load_time / n as u32)
        ),
    );
    table.info(
        "revisit worker #0: 1st / 2nd request",
        format!("{} / {}", fmt_dur(revisit[0]), fmt_dur(revisit[1])),
    );
    table.print();

    // Where the growth is, by kind of mapping (from /proc/self/smaps).
    let mut kinds = Table::new("RSS growth by kind of mapping (smaps), per resident worker");
    for (kind, kib) in &after_kinds {
        let grew = kib.saturating_sub(base_kinds.get(kind).copied().unwrap_or(0));
        kinds.info(*kind, format!("{:.1} KiB", grew as f64 / n as f64));
    }
    kinds.print();
}
