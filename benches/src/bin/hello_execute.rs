//! The Rust reference for the language packages' overhead: a warm hello `execute_blocking`,
//! timed over N sequential calls after 2000 warm-up calls, printed as one line
//! `hello_execute rust <µs per call>`. `benches/lang/` holds the same program in Python, Node
//! and Go; `benches/run.sh lang` runs them side by side and prints the ratios.
use std::sync::Arc;
use std::time::Instant;

use worker_benches::{engine, hello_loader};
use worker_core::{EngineConfig, Env, WorkerRequest};

const WARMUP: usize = 2000;

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 20_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: hello_execute [N]   (N sequential calls, default 20000)");
            std::process::exit(2);
        }
    };
    let engine = engine(EngineConfig::default(), hello_loader(false));
    let env = Arc::new(Env::new());
    let call = || {
        let r = engine.execute_blocking(
            "hello",
            "v1",
            env.clone(),
            WorkerRequest::get("http://bench.local/"),
        );
        if r.error.is_some() || r.body != b"hello" {
            eprintln!("hello worker failed: {:?} {:?}", r.error, r.text());
            std::process::exit(1);
        }
    };
    for _ in 0..WARMUP {
        call();
    }
    let started = Instant::now();
    for _ in 0..n {
        call();
    }
    let us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("hello_execute rust {us:.2}");
    engine.shutdown();
}
