//! Engine behaviour a host would notice: loading, errors, limits, concurrency, state.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use worker_core::*;

/// Serves each site id from a map of sources; unknown sites fail to load.
fn engine_with(config: EngineConfig, workers: &[(&str, WorkerSource)]) -> Engine {
    let map: HashMap<String, WorkerSource> = workers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let loader = move |site: &str, _deploy: &str| {
        map.get(site)
            .cloned()
            .ok_or_else(|| format!("no worker named {site}"))
    };
    Engine::new(config, Arc::new(loader)).expect("engine starts")
}

fn small() -> EngineConfig {
    EngineConfig {
        pool_size: 2,
        ..Default::default()
    }
}

fn get(engine: &Engine, site: &str) -> ExecuteResult {
    engine.execute_blocking(
        site,
        "v1",
        Arc::new(Env::new()),
        WorkerRequest::get("https://example.com/"),
    )
}

const HELLO: &str = "export default { fetch() { return new Response('hello'); } };";

#[test]
fn hello_module_worker() {
    let e = engine_with(small(), &[("a", WorkerSource::module(HELLO))]);
    let r = get(&e, "a");
    assert_eq!(r.error, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello");
}

#[test]
fn service_worker_syntax() {
    let src = WorkerSource::detect(
        "sw.js",
        "addEventListener('fetch', e => e.respondWith(new Response('sw ' + GREETING)));",
    );
    assert_eq!(src.modules[0].kind, ModuleType::Script);
    let e = engine_with(small(), &[("a", src)]);
    let r = e.execute_blocking(
        "a",
        "v1",
        Arc::new(Env::new().var("GREETING", "hi")),
        WorkerRequest::get("http://x/"),
    );
    assert_eq!(r.error, None);
    assert_eq!(r.text(), "sw hi");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let e = engine_with(
        small(),
        &[(
            "a",
            WorkerSource::module(
                "export default {\n  fetch() {\n    return new Response('x' +);\n  }\n};",
            ),
        )],
    );
    let r = get(&e, "a");
    let err = r.error.expect("syntax error reported");
    assert_eq!(r.status, 500);
    assert_eq!(err.kind, ErrorKind::Script);
    assert_eq!(err.name, "SyntaxError");
    assert_eq!(err.location.as_deref(), Some("worker.js:3:30"), "{err:?}");
}

#[test]
fn throw_at_top_level_is_a_script_error_with_stack() {
    let e = engine_with(
        small(),
        &[(
            "a",
            WorkerSource::module(
                "function boom() { throw new RangeError('bad config'); }\nboom();\nexport default {};",
            ),
        )],
    );
    let err = get(&e, "a").error.expect("error");
    assert_eq!(err.kind, ErrorKind::Script);
    assert_eq!(err.name, "RangeError");
    assert_eq!(err.message, "bad config");
    assert!(err.stack.contains("boom"), "stack: {}", err.stack);
    assert_eq!(err.location.as_deref(), Some("worker.js:1:25"));
}

#[test]
fn throw_in_handler_gives_500_with_js_stack_and_engine_keeps_serving() {
    let src = "function inner() { throw new TypeError('nope'); }\n\
               export default { fetch(req) { if (req.url.endsWith('/ok')) return new Response('fine'); inner(); } };";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    let r = get(&e, "a");
    assert_eq!(r.status, 500);
    let err = r.error.expect("error");
    assert_eq!(err.kind, ErrorKind::Exception);
    assert_eq!(
        (err.name.as_str(), err.message.as_str()),
        ("TypeError", "nope")
    );
    assert!(
        err.stack.contains("at inner (worker.js:1:"),
        "stack: {}",
        err.stack
    );
    let ok = e.execute_blocking(
        "a",
        "v1",
        Arc::new(Env::new()),
        WorkerRequest::get("http://x/ok"),
    );
    assert_eq!(ok.text(), "fine");
}

#[test]
fn promise_that_never_settles_hits_the_wall_limit() {
    let cfg = EngineConfig {
        wall_time_ms: 300,
        ..small()
    };
    let e = engine_with(
        cfg,
        &[(
            "a",
            WorkerSource::module("export default { fetch() { return new Promise(() => {}); } };"),
        )],
    );
    let t = Instant::now();
    let err = get(&e, "a").error.expect("error");
    assert_eq!(err.kind, ErrorKind::ExceededWallTime);
    assert!(
        err.message.contains("wall_time_ms = 300"),
        "{}",
        err.message
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn busy_loop_is_stopped_at_the_cpu_limit_and_the_next_request_succeeds() {
    let cfg = EngineConfig {
        cpu_time_ms: 100,
        ..small()
    };
    let src = "let n = 0; export default { fetch(req) { n++; if (req.url.endsWith('/spin')) { while (true) {} } return new Response('alive ' + n); } };";
    let e = engine_with(cfg, &[("a", WorkerSource::module(src))]);
    let t = Instant::now();
    let r = e.execute_blocking(
        "a",
        "v1",
        Arc::new(Env::new()),
        WorkerRequest::get("http://x/spin"),
    );
    let err = r.error.expect("error");
    assert_eq!(err.kind, ErrorKind::ExceededCpu);
    assert!(err.message.contains("cpu_time_ms = 100"), "{}", err.message);
    assert!(t.elapsed() < Duration::from_secs(3));
    // The isolate was recycled: module state starts over.
    let r = get(&e, "a");
    assert_eq!(r.error, None);
    assert_eq!(r.text(), "alive 1");
}

#[test]
fn memory_limit_is_named_and_other_workers_are_unaffected() {
    let cfg = EngineConfig {
        memory_limit_mb: 32,
        ..small()
    };
    let hog = "export default { fetch() { const a = []; while (true) a.push(new Array(100000).fill({x: 1})); } };";
    let e = engine_with(
        cfg,
        &[
            ("hog", WorkerSource::module(hog)),
            ("ok", WorkerSource::module(HELLO)),
        ],
    );
    let err = get(&e, "hog").error.expect("error");
    assert_eq!(err.kind, ErrorKind::ExceededMemory);
    assert!(
        err.message.contains("memory_limit_mb = 32"),
        "{}",
        err.message
    );
    assert_eq!(get(&e, "ok").text(), "hello");
    // The hog's next request gets a fresh isolate (and fails the same way).
    assert_eq!(
        get(&e, "hog").error.map(|e| e.kind),
        Some(ErrorKind::ExceededMemory)
    );
    assert_eq!(get(&e, "ok").text(), "hello");
}

#[test]
fn non_utf8_request_body_round_trips_as_bytes() {
    let src =
        "export default { async fetch(req) { return new Response(await req.arrayBuffer()); } };";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    let body: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, b'a'];
    let r = e.execute_blocking(
        "a",
        "v1",
        Arc::new(Env::new()),
        WorkerRequest::get("http://x/")
            .method("POST")
            .body(body.clone()),
    );
    assert_eq!(r.error, None);
    assert_eq!(r.body, body);
}

#[test]
fn thousands_of_headers_in_and_out_keep_order_and_repeats() {
    let src = "export default { fetch(req) { const h = new Headers(); let n = 0; for (const [k, v] of req.headers) { n++; } for (let i = 0; i < 2000; i++) h.append('set-cookie', 'c' + i + '=1'); h.set('x-count', String(n)); return new Response('ok', { headers: h }); } };";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    let mut req = WorkerRequest::get("http://x/");
    for i in 0..3000 {
        req = req.header(format!("x-h{i}"), format!("v{i}"));
    }
    let r = e.execute_blocking("a", "v1", Arc::new(Env::new()), req);
    assert_eq!(r.error, None);
    assert_eq!(r.header("x-count"), Some("3000"));
    let cookies: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .collect();
    assert_eq!(cookies.len(), 2000);
    assert_eq!(cookies[0].1, "c0=1");
    assert_eq!(cookies[1999].1, "c1999=1");
}

#[test]
fn a_thousand_concurrent_requests_across_fifty_workers_lose_nothing() {
    let sources: Vec<(String, WorkerSource)> = (0..50)
        .map(|i| {
            (
                format!("w{i}"),
                WorkerSource::module(format!(
                    "let n = 0; export default {{ async fetch(req) {{ n++; await new Promise(r => setTimeout(r, 1)); return new Response('w{i} ' + new URL(req.url).searchParams.get('q')); }} }};"
                )),
            )
        })
        .collect();
    let refs: Vec<(&str, WorkerSource)> = sources
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let e = engine_with(small(), &refs);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..1000 {
            let e = e.clone();
            tasks.push(tokio::spawn(async move {
                let site = format!("w{}", i % 50);
                let r = e
                    .execute(
                        &site,
                        "v1",
                        Arc::new(Env::new()),
                        WorkerRequest::get(format!("http://x/?q={i}")),
                    )
                    .await;
                (i, r)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(results.len(), 1000);
    for (i, r) in results {
        assert_eq!(r.error, None, "request {i}");
        assert_eq!(r.text(), format!("w{} {i}", i % 50));
    }
}

#[test]
fn module_state_persists_and_requests_interleave_while_awaiting() {
    let src = "let count = 0; export default { async fetch(req) { const n = ++count; if (req.url.endsWith('/slow')) await new Promise(r => setTimeout(r, 500)); return new Response(String(n)); } };";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    assert_eq!(get(&e, "a").text(), "1");
    let slow = {
        let e = e.clone();
        std::thread::spawn(move || {
            let r = e.execute_blocking(
                "a",
                "v1",
                Arc::new(Env::new()),
                WorkerRequest::get("http://x/slow"),
            );
            (r, Instant::now())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let fast = get(&e, "a");
    let fast_done = Instant::now();
    let (slow, slow_done) = slow.join().unwrap();
    assert_eq!(slow.text(), "2");
    assert_eq!(fast.text(), "3");
    // The second request ran while the first awaited its timer on the same isolate.
    assert!(fast_done < slow_done);
}

#[test]
fn modules_import_each_other_and_data_modules() {
    let source = WorkerSource {
        main_module: "src/index.js".into(),
        modules: vec![
            Module {
                name: "src/index.js".into(),
                kind: ModuleType::EsModule,
                content: b"import { greet } from './lib/greet.js';\nimport cfg from '../config.json';\nimport text from './hello.txt';\nimport bin from './blob.bin';\nexport default { async fetch() { const { late } = await import('./lib/late.js'); return new Response([greet(cfg.name), text, new Uint8Array(bin).join(','), late].join('|')); } };".to_vec(),
            },
            Module { name: "src/lib/greet.js".into(), kind: ModuleType::EsModule, content: b"export const greet = (n) => 'hi ' + n;".to_vec() },
            Module { name: "src/lib/late.js".into(), kind: ModuleType::EsModule, content: b"export const late = 'dynamic';".to_vec() },
            Module { name: "config.json".into(), kind: ModuleType::Json, content: br#"{"name": "ann"}"#.to_vec() },
            Module { name: "src/hello.txt".into(), kind: ModuleType::Text, content: b"text module".to_vec() },
            Module { name: "src/blob.bin".into(), kind: ModuleType::Data, content: vec![1, 2, 3] },
        ],
    };
    let e = engine_with(small(), &[("a", source)]);
    let r = get(&e, "a");
    assert_eq!(r.error, None);
    assert_eq!(r.text(), "hi ann|text module|1,2,3|dynamic");
}

#[test]
fn missing_import_names_the_module() {
    let e = engine_with(
        small(),
        &[(
            "a",
            WorkerSource::module("import x from './nope.js';\nexport default {};"),
        )],
    );
    let err = get(&e, "a").error.expect("error");
    assert_eq!(err.kind, ErrorKind::Script);
    assert!(
        err.message.contains("No such module \"nope.js\""),
        "{}",
        err.message
    );
}

#[test]
fn eval_and_new_function_are_refused_unless_allowed() {
    let src = "export default { fetch() { try { return new Response(String(eval('1+1'))); } catch (e) { return new Response(e.name + ': ' + e.message); } } };";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    assert_eq!(
        get(&e, "a").text(),
        "EvalError: Code generation from strings disallowed for this context"
    );
    let allowed = engine_with(
        EngineConfig {
            allow_code_generation: true,
            ..small()
        },
        &[("a", WorkerSource::module(src))],
    );
    assert_eq!(get(&allowed, "a").text(), "2");
}

#[test]
fn execute_function_calls_named_exports_with_env() {
    let src = "export default { add(env, a, b) { return { sum: a + b, who: env.WHO }; } };\nexport async function later(env, x) { await null; return [x, x]; }\nexport function nothing() {}";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    let env = Arc::new(Env::new().var("WHO", "me"));
    let r = e.execute_function_blocking("a", "v1", env.clone(), "add", "[3, 4]");
    assert_eq!(r.error, None);
    assert_eq!(r.data.as_deref(), Some(r#"{"sum":7,"who":"me"}"#));
    let r = e.execute_function_blocking("a", "v1", env.clone(), "later", "[\"x\"]");
    assert_eq!(r.data.as_deref(), Some(r#"["x","x"]"#));
    let r = e.execute_function_blocking("a", "v1", env.clone(), "nothing", "[]");
    assert_eq!(r.data.as_deref(), Some("null"));
    let r = e.execute_function_blocking("a", "v1", env, "missing", "[]");
    assert!(r.error.is_some());
}

#[test]
fn compile_and_cache_reports_syntax_errors_and_serves_the_new_source() {
    let e = engine_with(small(), &[]);
    let err = e
        .compile_and_cache(
            "site",
            "d1",
            WorkerSource::module("export default {\n  fetch( {\n};"),
        )
        .unwrap_err();
    assert_eq!(err.name, "SyntaxError");
    assert!(
        err.location
            .as_deref()
            .is_some_and(|l| l.starts_with("worker.js:")),
        "{err:?}"
    );
    let cache = e
        .compile_and_cache(
            "site",
            "d1",
            WorkerSource::module("export default { add(env, a, b) { return a + b; } };"),
        )
        .expect("compiles");
    assert!(!cache.is_empty(), "code cache bytes returned");
    let r = e.execute_function_blocking("site", "d1", Arc::new(Env::new()), "add", "[3, 4]");
    assert_eq!(r.data.as_deref(), Some("7"));
}

#[test]
fn wait_until_runs_after_the_response_and_logs_are_captured() {
    let src = "export let done = 0;\nexport default { fetch(req, env, ctx) { console.log('start'); console.warn('careful'); console.error('bad', 1); ctx.waitUntil(new Promise(r => setTimeout(() => { done++; r(); }, 100))); return new Response('now'); } };\nexport function doneCount() { return done; }";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    let t = Instant::now();
    let r = get(&e, "a");
    assert!(
        t.elapsed() < Duration::from_millis(90),
        "response waited for waitUntil"
    );
    assert_eq!(r.text(), "now");
    let levels: Vec<_> = r
        .logs
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    assert_eq!(
        levels,
        vec![
            (LogLevel::Log, "start"),
            (LogLevel::Warn, "careful"),
            (LogLevel::Error, "bad 1")
        ]
    );
    std::thread::sleep(Duration::from_millis(200));
    let r = e.execute_function_blocking("a", "v1", Arc::new(Env::new()), "doneCount", "[]");
    assert_eq!(r.data.as_deref(), Some("1"));
}

#[test]
fn unhandled_rejections_are_reported_in_logs() {
    let src = "export default { fetch() { Promise.reject(new Error('lost')); return new Response('ok'); } };";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    let r = get(&e, "a");
    assert_eq!(r.text(), "ok");
    assert!(
        r.logs.iter().any(|l| l.level == LogLevel::Error
            && l.message.contains("Uncaught (in promise)")
            && l.message.contains("lost")),
        "{:?}",
        r.logs
    );
}

#[test]
fn loader_failure_is_script_not_found() {
    let e = engine_with(small(), &[]);
    let err = get(&e, "ghost").error.expect("error");
    assert_eq!(err.kind, ErrorKind::ScriptNotFound);
    assert!(
        err.message.contains("no worker named ghost"),
        "{}",
        err.message
    );
}

#[test]
fn least_recently_used_workers_are_evicted() {
    let counter = "let n = 0; export default { fetch() { return new Response(String(++n)); } };";
    let cfg = EngineConfig {
        pool_size: 1,
        max_resident_workers: 2,
        ..Default::default()
    };
    let e = engine_with(
        cfg,
        &[
            ("a", WorkerSource::module(counter)),
            ("b", WorkerSource::module(counter)),
            ("c", WorkerSource::module(counter)),
        ],
    );
    assert_eq!(get(&e, "a").text(), "1");
    assert_eq!(get(&e, "a").text(), "2");
    assert_eq!(get(&e, "b").text(), "1");
    assert_eq!(get(&e, "c").text(), "1"); // evicts a
    assert_eq!(get(&e, "b").text(), "2");
    assert_eq!(get(&e, "a").text(), "1"); // reloaded from scratch
}

#[test]
fn shutdown_drains_and_later_calls_fail() {
    let src = "export default { fetch(req, env, ctx) { ctx.waitUntil(new Promise(r => setTimeout(r, 50))); return new Response('x'); } };";
    let e = engine_with(small(), &[("a", WorkerSource::module(src))]);
    assert_eq!(get(&e, "a").text(), "x");
    e.shutdown();
    let err = get(&e, "a").error.expect("error");
    assert_eq!(err.kind, ErrorKind::Internal);
}

#[test]
fn response_size_limit_is_named() {
    let cfg = EngineConfig {
        max_response_bytes: 1000,
        ..small()
    };
    let src = "export default { fetch() { return new Response('x'.repeat(5000)); } };";
    let e = engine_with(cfg, &[("a", WorkerSource::module(src))]);
    let err = get(&e, "a").error.expect("error");
    assert_eq!(err.kind, ErrorKind::ExceededResponseSize);
    assert!(
        err.message.contains("max_response_bytes = 1000"),
        "{}",
        err.message
    );
}

#[test]
fn loader_is_called_once_per_resident_worker() {
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let loader = move |_: &str, _: &str| {
        *c.lock().unwrap() += 1;
        std::thread::sleep(Duration::from_millis(50));
        Ok(WorkerSource::module(HELLO))
    };
    let e = Engine::new(small(), Arc::new(loader)).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || get(&e, "same").text())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "hello");
    }
    assert_eq!(*calls.lock().unwrap(), 1);
}
