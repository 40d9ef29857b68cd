//! (a) Warm in-process `Engine::execute` latency of a hello worker, and requests/s with C
//! concurrent callers. Goal: p50 ≤ 20 µs.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use worker_benches::{Args, Stats, Table, Verdict, describe, engine, fmt_dur, hello_loader};
use worker_core::{Engine, EngineConfig, Env, ExecuteResult, WorkerRequest};

const USAGE: &str = "execute_latency [--iters N] [--warmup N] [--concurrency C] [--secs S] [--pool P] [--max-secs S]

Warm latency of Engine::execute on one hello worker (sequential, one caller), then requests/s
with C concurrent callers for S seconds. Defaults: --iters 20000 --warmup 2000 --concurrency 16
--secs 5 --pool <cores>; each sequential phase stops early after --max-secs (20).";

const GOAL_P50_US: f64 = 20.0;
const SITE: &str = "hello";

fn request() -> WorkerRequest {
    WorkerRequest::get("http://bench.local/")
}

fn check(r: &ExecuteResult) -> bool {
    r.error.is_none() && r.status == 200 && r.body == b"hello"
}

fn fail_first(r: &ExecuteResult) -> ! {
    match &r.error {
        Some(e) => eprintln!("hello worker failed: {:?}: {e}\n{}", e.kind, e.stack),
        None => eprintln!(
            "hello worker answered {} {:?} instead of 200 \"hello\"",
            r.status,
            r.text()
        ),
    }
    std::process::exit(1);
}

/// Sequential samples of one caller awaiting `execute` on a current-thread runtime.
fn sequential_async(
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    env: &Arc<Env>,
    iters: usize,
    max: Duration,
) -> (Vec<Duration>, usize) {
    rt.block_on(async {
        let mut samples = Vec::with_capacity(iters);
        let mut errors = 0;
        let deadline = Instant::now() + max;
        for _ in 0..iters {
            let t = Instant::now();
            let r = engine.execute(SITE, "v1", env.clone(), request()).await;
            samples.push(t.elapsed());
            errors += usize::from(!check(&r));
            if Instant::now() > deadline {
                break;
            }
        }
        (samples, errors)
    })
}

/// Sequential samples of `execute_blocking` from a plain thread.
fn sequential_blocking(
    engine: &Engine,
    env: &Arc<Env>,
    iters: usize,
    max: Duration,
) -> (Vec<Duration>, usize) {
    let mut samples = Vec::with_capacity(iters);
    let mut errors = 0;
    let deadline = Instant::now() + max;
    for _ in 0..iters {
        let t = Instant::now();
        let r = engine.execute_blocking(SITE, "v1", env.clone(), request());
        samples.push(t.elapsed());
        errors += usize::from(!check(&r));
        if Instant::now() > deadline {
            break;
        }
    }
    (samples, errors)
}

/// The floor any cross-thread design pays: an empty job sent through a tokio unbounded mpsc to
/// another thread running a current-thread runtime, answered through a oneshot (the same
/// mechanism `Engine::execute` uses to reach its executor thread), awaited sequentially.
fn handoff_floor(rt: &tokio::runtime::Runtime, iters: usize, max: Duration) -> Stats {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<()>>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async {
            while let Some(reply) = rx.recv().await {
                let _ = reply.send(());
            }
        });
    });
    let samples = rt.block_on(async {
        let mut samples = Vec::with_capacity(iters);
        let deadline = Instant::now() + max;
        for _ in 0..iters {
            let t = Instant::now();
            let (reply, answer) = tokio::sync::oneshot::channel();
            tx.send(reply).expect("hand-off thread is gone");
            answer.await.expect("hand-off thread dropped the reply");
            samples.push(t.elapsed());
            if Instant::now() > deadline {
                break;
            }
        }
        samples
    });
    drop(tx);
    server.join().expect("hand-off thread panicked");
    Stats::of(samples)
}

/// The same round trip between two threads that never sleep (both spin on an atomic): what
/// the hand-off costs without waking a parked thread. The gap to `handoff_floor` is the
/// wake-up latency of an idle core (futex/eventfd wake, scheduler, on a VM the vCPU halt).
fn handoff_spinning(iters: usize, max: Duration) -> Stats {
    let turn = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (t2, s2) = (turn.clone(), stop.clone());
    let server = std::thread::spawn(move || {
        let mut seen = 0;
        while !s2.load(Ordering::Relaxed) {
            let now = t2.load(Ordering::Acquire);
            if now != seen && now % 2 == 1 {
                seen = now + 1;
                t2.store(seen, Ordering::Release);
            }
            std::hint::spin_loop();
        }
    });
    let mut samples = Vec::with_capacity(iters);
    let deadline = Instant::now() + max;
    let mut n = 0u64;
    for _ in 0..iters {
        let t = Instant::now();
        n += 1;
        turn.store(2 * n - 1, Ordering::Release);
        while turn.load(Ordering::Acquire) != 2 * n {
            std::hint::spin_loop();
        }
        samples.push(t.elapsed());
        if Instant::now() > deadline {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    server.join().expect("spinning thread panicked");
    Stats::of(samples)
}

struct Concurrent {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latency: Stats,
}

/// C tasks on one current-thread runtime (like a server's accept loop), each awaiting execute
/// in a loop until `secs` elapse.
fn concurrent(
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    env: &Arc<Env>,
    callers: usize,
    secs: f64,
) -> Concurrent {
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..callers {
            let (engine, env, stop, errors) =
                (engine.clone(), env.clone(), stop.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let r = engine.execute(SITE, "v1", env.clone(), request()).await;
                    samples.push(t.elapsed());
                    if !check(&r) {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                samples
            }));
        }
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("caller task panicked"));
        }
        let elapsed = start.elapsed();
        Concurrent {
            requests: all.len() as u64,
            errors: errors.load(Ordering::Relaxed),
            elapsed,
            latency: Stats::of(all),
        }
    })
}

fn main() {
    let args = Args::parse(USAGE);
    let iters: usize = args.num("iters", 20_000);
    let warmup: usize = args.num("warmup", 2_000);
    let callers: usize = args.num("concurrency", 16);
    let secs: f64 = args.num("secs", 5.0);
    let max = Duration::from_secs_f64(args.num("max-secs", 20.0));
    let mut config = EngineConfig::default();
    config.pool_size = args.num("pool", config.pool_size);
    println!("{}", describe(&config));

    let engine = engine(config, hello_loader(false));
    let env = Arc::new(Env::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    // First request: loads, compiles and instantiates the worker (not counted).
    let t = Instant::now();
    let first = rt.block_on(engine.execute(SITE, "v1", env.clone(), request()));
    let first_time = t.elapsed();
    if !check(&first) {
        fail_first(&first);
    }
    // Warm-up: JIT tiers, allocator pools, caches.
    let _ = sequential_async(&rt, &engine, &env, warmup, max);

    let (async_samples, async_errors) = sequential_async(&rt, &engine, &env, iters, max);
    let (block_samples, block_errors) = sequential_blocking(&engine, &env, iters, max);
    let a = Stats::of(async_samples);
    let b = Stats::of(block_samples);
    let c = concurrent(&rt, &engine, &env, callers, secs);
    engine.shutdown();
    let floor = handoff_floor(&rt, iters, max);
    let spin = handoff_spinning(iters.min(5000), max);

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut table = Table::new("execute_latency: warm hello worker, in process");
    table.info("first request (load + compile)", fmt_dur(first_time));
    table.info(
        "samples (async / blocking)",
        format!("{} / {}", a.count, b.count),
    );
    table.row(
        "execute().await p50",
        fmt_dur(a.p50),
        "≤ 20 µs",
        Verdict::at_most(us(a.p50), GOAL_P50_US),
    );
    table.info("execute().await p90", fmt_dur(a.p90));
    table.info("execute().await p99", fmt_dur(a.p99));
    table.info("execute().await mean", fmt_dur(a.mean));
    table.info("execute().await max", fmt_dur(a.max));
    table.info(
        "execute().await req/s (1 caller)",
        format!("{:.0}", 1.0 / a.mean.as_secs_f64()),
    );
    table.row(
        "execute_blocking p50",
        fmt_dur(b.p50),
        "≤ 20 µs",
        Verdict::at_most(us(b.p50), GOAL_P50_US),
    );
    table.info("execute_blocking p99", fmt_dur(b.p99));
    table.info("execute_blocking mean", fmt_dur(b.mean));
    table.info(
        format!("req/s, {callers} concurrent callers"),
        format!("{:.0}", c.requests as f64 / c.elapsed.as_secs_f64()),
    );
    table.info(format!("p50 / p99, {callers} callers"), {
        format!("{} / {}", fmt_dur(c.latency.p50), fmt_dur(c.latency.p99))
    });
    table.info(
        "hand-off floor p50 / p99 (empty job)",
        format!("{} / {}", fmt_dur(floor.p50), fmt_dur(floor.p99)),
    );
    table.info(
        "  same, both threads spinning",
        format!("{} / {}", fmt_dur(spin.p50), fmt_dur(spin.p99)),
    );
    table.info(
        "failed responses",
        format!("{}", async_errors + block_errors + c.errors as usize),
    );
    table.print();
}
