//! (b) Never-seen worker to first response: every request goes to a new site id with its own
//! source text, so the engine must take an isolate (a warm spare or a new one), compile,
//! instantiate and run the handler. Goal: p50 ≤ 1 ms.
use std::sync::Arc;
use std::time::{Duration, Instant};

use worker_benches::{Args, Stats, Table, Verdict, describe, engine, fmt_dur, hello_loader};
use worker_core::{EngineConfig, Env, ExecuteResult, WorkerRequest};

const USAGE: &str =
    "cold_start [--iters N] [--warmup N] [--gap-ms G] [--pool P] [--warm W] [--max-secs S]

Time from Engine::execute on a never-seen site id to its response. Two phases of N workers each:
'paced' waits G ms between workers so the engine can refill its warm spare isolates (a
realistic arrival rate for new tenants); 'back-to-back' starts the next worker at once, so spares
run out and new isolates boot on the request path. Defaults: --iters 300 --warmup 20
--gap-ms 10 --pool <cores> --warm <engine default>; a phase stops early after --max-secs (30).";

const GOAL_P50_MS: f64 = 1.0;

fn check(r: &ExecuteResult, site: &str) {
    if r.error.is_some() || r.status != 200 || r.body != b"hello" {
        match &r.error {
            Some(e) => eprintln!("{site}: failed: {:?}: {e}\n{}", e.kind, e.stack),
            None => eprintln!("{site}: answered {} {:?}", r.status, r.text()),
        }
        std::process::exit(1);
    }
}

fn main() {
    let args = Args::parse(USAGE);
    let iters: usize = args.num("iters", 300);
    let warmup: usize = args.num("warmup", 20);
    let gap = Duration::from_millis(args.num("gap-ms", 10));
    let max = Duration::from_secs_f64(args.num("max-secs", 30.0));
    let mut config = EngineConfig::default();
    config.pool_size = args.num("pool", config.pool_size);
    config.warm_isolates = args.num("warm", config.warm_isolates);
    // Keep every worker resident: eviction is not what this measures.
    config.max_resident_workers = config.max_resident_workers.max(2 * iters + warmup + 100);
    println!("{}", describe(&config));

    let engine = engine(config, hello_loader(true));
    let env = Arc::new(Env::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut next_site = 0usize;
    let request = || WorkerRequest::get("http://bench.local/");
    // Returns the first-request times and, for paced runs, the second request's (same worker,
    // right after): how far a fresh worker is from warm.
    let mut run = |n: usize, gap: Duration| -> (Vec<Duration>, Vec<Duration>) {
        rt.block_on(async {
            let (mut first, mut second) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let deadline = Instant::now() + max;
            for _ in 0..n {
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
                let site = format!("cold-{next_site}");
                next_site += 1;
                let t = Instant::now();
                let r = engine.execute(&site, "v1", env.clone(), request()).await;
                first.push(t.elapsed());
                check(&r, &site);
                if !gap.is_zero() {
                    let t = Instant::now();
                    let r = engine.execute(&site, "v1", env.clone(), request()).await;
                    second.push(t.elapsed());
                    check(&r, &site);
                }
                if Instant::now() > deadline {
                    break;
                }
            }
            (first, second)
        })
    };

    let very_first = run(1, Duration::ZERO).0[0];
    let _ = run(warmup, gap);
    let (paced, paced_second) = run(iters, gap);
    let (paced, paced_second) = (Stats::of(paced), Stats::of(paced_second));
    let burst = Stats::of(run(iters, Duration::ZERO).0);
    engine.shutdown();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut table = Table::new("cold_start: never-seen hello worker to first response");
    table.info("very first worker of the process", fmt_dur(very_first));
    table.info(
        format!("paced ({} ms gap) workers", gap.as_millis()),
        paced.count.to_string(),
    );
    table.row(
        "paced p50",
        fmt_dur(paced.p50),
        "≤ 1 ms",
        Verdict::at_most(ms(paced.p50), GOAL_P50_MS),
    );
    table.info("paced p99", fmt_dur(paced.p99));
    table.info(
        "paced mean / max",
        format!("{} / {}", fmt_dur(paced.mean), fmt_dur(paced.max)),
    );
    table.info(
        "paced: 2nd request p50 / p99",
        format!(
            "{} / {}",
            fmt_dur(paced_second.p50),
            fmt_dur(paced_second.p99)
        ),
    );
    table.info("back-to-back workers", burst.count.to_string());
    table.row(
        "back-to-back p50",
        fmt_dur(burst.p50),
        "≤ 1 ms",
        Verdict::at_most(ms(burst.p50), GOAL_P50_MS),
    );
    table.info("back-to-back p99", fmt_dur(burst.p99));
    table.info(
        "back-to-back mean / max",
        format!("{} / {}", fmt_dur(burst.mean), fmt_dur(burst.max)),
    );
    table.info(
        "back-to-back new workers/s",
        format!("{:.0}", 1.0 / burst.mean.as_secs_f64()),
    );
    table.print();
}
