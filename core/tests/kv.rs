//! KV bindings backed by host stores written in Rust: answers that arrive later from another
//! thread, failures, the subrequest limit, and the embedded SQLite store across engines.
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use worker_core::kv::{KvEntry, KvList, KvListOptions, KvPutOptions, KvStore};
use worker_core::stores::SqliteKv;
use worker_core::*;

/// An in-memory store that answers from a separate thread after `delay`, or fails every call.
#[derive(Default)]
struct ThreadStore {
    data: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    delay: Duration,
    fail: bool,
}

impl ThreadStore {
    async fn answer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> T + Send + 'static,
    ) -> Result<T, HostError> {
        if self.fail {
            return Err(HostError::new("store offline: connection refused"));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (data, delay) = (self.data.clone(), self.delay);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = tx.send(f(&mut data.lock().unwrap()));
        });
        rx.await.map_err(|_| HostError::new("answer lost"))
    }
}

#[async_trait]
impl KvStore for ThreadStore {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, HostError> {
        let key = key.to_string();
        self.answer(move |d| {
            d.get(&key).map(|v| KvEntry {
                value: v.clone(),
                ..Default::default()
            })
        })
        .await
    }
    async fn put(&self, key: &str, value: Vec<u8>, _: KvPutOptions) -> Result<(), HostError> {
        let key = key.to_string();
        self.answer(move |d| {
            d.insert(key, value);
        })
        .await
    }
    async fn delete(&self, key: &str) -> Result<(), HostError> {
        let key = key.to_string();
        self.answer(move |d| {
            d.remove(&key);
        })
        .await
    }
    async fn list(&self, _: KvListOptions) -> Result<KvList, HostError> {
        unimplemented!("not used by these tests")
    }
}

fn run(config: EngineConfig, code: &str, env: Env) -> ExecuteResult {
    let code = code.to_string();
    let loader = move |_: &str, _: &str| Ok(WorkerSource::module(code.clone()));
    let engine = Engine::new(config, Arc::new(loader)).expect("engine starts");
    let r = engine.execute_blocking("kv", "v1", Arc::new(env), WorkerRequest::get("http://x/"));
    engine.shutdown();
    r
}

fn config() -> EngineConfig {
    EngineConfig {
        pool_size: 1,
        ..Default::default()
    }
}

#[test]
fn answers_from_another_thread_settle_the_workers_promises() {
    let store = ThreadStore {
        delay: Duration::from_millis(15),
        ..Default::default()
    };
    let code = "export default { async fetch(req, env) {
        await env.KV.put('k', 'v1');
        const [a, b] = await Promise.all([env.KV.get('k'), env.KV.get('missing')]);
        await env.KV.delete('k');
        return Response.json([a, b, await env.KV.get('k')]);
    } };";
    let r = run(config(), code, Env::new().kv("KV", Arc::new(store)));
    assert_eq!(r.error, None);
    assert_eq!(r.text(), r#"["v1",null,null]"#);
}

#[test]
fn a_failing_store_rejects_with_its_message() {
    let store = ThreadStore {
        fail: true,
        ..Default::default()
    };
    let code = "export default { async fetch(req, env) {
        try { await env.KV.get('k'); return new Response('resolved'); }
        catch (e) { return new Response(`${e.constructor.name}: ${e.message}`); }
    } };";
    let r = run(config(), code, Env::new().kv("KV", Arc::new(store)));
    assert_eq!(r.text(), "Error: store offline: connection refused");

    // Uncaught, it fails the request with the store's message.
    let code =
        "export default { async fetch(req, env) { return new Response(await env.KV.get('k')); } };";
    let store = ThreadStore {
        fail: true,
        ..Default::default()
    };
    let r = run(config(), code, Env::new().kv("KV", Arc::new(store)));
    let e = r.error.expect("the request fails");
    assert_eq!(e.kind, ErrorKind::Exception);
    assert_eq!(e.message, "store offline: connection refused");
}

#[test]
fn binding_calls_count_toward_the_subrequest_limit() {
    let code = "export default { async fetch(req, env) {
        const out = [];
        for (let i = 0; i < 4; i++) {
            try { await env.KV.get('k' + i); out.push('ok'); } catch (e) { out.push(e.message); }
        }
        return Response.json(out);
    } };";
    let config = EngineConfig {
        max_subrequests: 3,
        ..config()
    };
    let store: Arc<dyn KvStore> = Arc::new(ThreadStore::default());
    let r = run(config, code, Env::new().kv("KV", store));
    assert_eq!(
        r.text(),
        r#"["ok","ok","ok","Too many subrequests by single Worker invocation."]"#
    );
}

#[test]
fn the_embedded_store_keeps_data_for_the_next_engine() {
    let dir = std::env::temp_dir().join(format!("wk-core-kv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("ns.sqlite");
    let write = "export default { async fetch(req, env) {
        await env.KV.put('user:1', 'ada', { metadata: { admin: true }, expirationTtl: 3600 });
        await env.KV.put('user:2', 'bob');
        await env.KV.put('other', 'x');
        return new Response('ok');
    } };";
    let store = SqliteKv::open(&path).unwrap();
    assert_eq!(
        run(config(), write, Env::new().kv("KV", Arc::new(store))).text(),
        "ok"
    );

    let read = "export default { async fetch(req, env) {
        const page = await env.KV.list({ prefix: 'user:', limit: 1 });
        const next = await env.KV.list({ prefix: 'user:', cursor: page.cursor });
        const ttl = page.keys[0].expiration - Math.floor(Date.now() / 1000);
        return Response.json({
            first: page.keys.map((k) => [k.name, k.metadata]), complete: page.list_complete,
            rest: next.keys.map((k) => k.name), done: next.list_complete, ttlOk: ttl > 3500 && ttl <= 3600,
            value: await env.KV.get('user:1'),
        });
    } };";
    let store = SqliteKv::open(&path).unwrap();
    let r = run(config(), read, Env::new().kv("KV", Arc::new(store)));
    assert_eq!(
        r.text(),
        r#"{"first":[["user:1",{"admin":true}]],"complete":false,"rest":["user:2"],"done":true,"ttlOk":true,"value":"ada"}"#
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The embedded store answers repeated reads from memory; a write must never leave a stale copy
/// behind, even when reads of the same key are in flight while it lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_embedded_store_never_serves_a_value_older_than_the_last_write() {
    let dir = std::env::temp_dir().join(format!("wk-core-kv-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(SqliteKv::open(dir.join("ns.sqlite")).unwrap());
    let value = |e: Option<KvEntry>| e.map(|e| String::from_utf8(e.value).unwrap());

    assert_eq!(value(store.get("k").await.unwrap()), None);
    store
        .put("k", b"v0".to_vec(), KvPutOptions::default())
        .await
        .unwrap();
    assert_eq!(value(store.get("k").await.unwrap()).as_deref(), Some("v0"));
    assert_eq!(value(store.get("k").await.unwrap()).as_deref(), Some("v0"));

    for round in 1..=50 {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.get("k").await.unwrap() })
            })
            .collect();
        let v = format!("v{round}");
        store
            .put("k", v.clone().into_bytes(), KvPutOptions::default())
            .await
            .unwrap();
        for r in readers {
            r.await.unwrap();
        }
        assert_eq!(
            value(store.get("k").await.unwrap()),
            Some(v),
            "round {round}"
        );
    }

    store.delete("k").await.unwrap();
    assert_eq!(value(store.get("k").await.unwrap()), None);
    let past = KvPutOptions {
        expiration: Some(1),
        metadata: None,
    };
    store.put("old", b"x".to_vec(), past).await.unwrap();
    assert_eq!(value(store.get("old").await.unwrap()), None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A value near the 25 MiB limit goes into KV from a stream and comes back out as one through an
/// isolate whose heap and ArrayBuffer memory are capped at 16 MiB: it only fits if neither
/// `put(key, stream)` nor `get(key, "stream")` holds the value in JS at once.
#[test]
fn a_24_mb_value_streams_both_ways_through_a_16_mb_isolate() {
    const TOTAL: usize = 24 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let data: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
    let env = || {
        let store = ThreadStore {
            data: data.clone(),
            ..Default::default()
        };
        Env::new().kv("KV", Arc::new(store))
    };
    let config = EngineConfig {
        memory_limit_mb: 16,
        ..config()
    };
    // Byte i of chunk c is (c * 7 + i) % 251; the worker keeps only a length and a running sum.
    let code = format!(
        "export default {{ async fetch(req, env) {{
        const TOTAL = {TOTAL}, CHUNK = {CHUNK};
        let c = 0;
        const source = new ReadableStream({{
            pull(controller) {{
                if (c === TOTAL / CHUNK) return controller.close();
                const chunk = new Uint8Array(CHUNK);
                for (let i = 0; i < CHUNK; i++) chunk[i] = (c * 7 + i) % 251;
                c++;
                controller.enqueue(chunk);
            }},
        }});
        await env.KV.put('big', source);
        const reader = (await env.KV.get('big', 'stream')).getReader();
        let n = 0, sum = 0, chunks = 0;
        for (;;) {{
            const {{ done, value }} = await reader.read();
            if (done) break;
            chunks++;
            n += value.byteLength;
            for (let i = 0; i < value.byteLength; i += 4096) sum = (sum + value[i]) % 1000000007;
        }}
        const meta = await env.KV.getWithMetadata('big', {{ type: 'stream' }});
        let m = 0;
        for await (const value of meta.value) m += value.byteLength;
        return Response.json({{ n, sum, chunks, m }});
    }} }};"
    );
    let mut expected_sum: u64 = 0;
    for c in 0..TOTAL / CHUNK {
        for i in (0..CHUNK).step_by(4096) {
            expected_sum = (expected_sum + ((c * 7 + i) % 251) as u64) % 1_000_000_007;
        }
    }
    let r = run(config.clone(), &code, env());
    assert_eq!(r.error, None);
    let v: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(v["n"], TOTAL);
    assert_eq!(v["m"], TOTAL);
    assert_eq!(v["sum"], expected_sum);
    // It arrived in many chunks, never as one piece.
    assert!(v["chunks"].as_u64().unwrap() >= 100, "{v}");
    assert_eq!(data.lock().unwrap()["big"].len(), TOTAL);

    // The same isolate cannot hold the value whole in memory JS allocates, so the pass above did
    // not gather it in JS (as put() once did with readAllBytes): collecting the value's stream
    // into one buffer fails. (`get(key, "arrayBuffer")` would not show it: bytes a host call
    // hands JS are not counted against the isolate's ArrayBuffer cap; the `chunks` count above
    // is what shows the get streamed.)
    for read in [
        "await new Response(await env.KV.get('big', 'stream')).arrayBuffer()",
        "await new Response((await env.KV.getWithMetadata('big', 'stream')).value).bytes()",
    ] {
        let code = format!(
            "export default {{ async fetch(req, env) {{
            try {{ return new Response(String((({read})).byteLength)); }}
            catch (e) {{ return new Response('failed: ' + e.message); }}
        }} }};"
        );
        let r = run(config.clone(), &code, env());
        let out_of_memory = r.text() == "failed: Array buffer allocation failed"
            || r.error.as_ref().map(|e| e.kind) == Some(ErrorKind::ExceededMemory);
        assert!(
            out_of_memory,
            "{read} held the whole value: {:?} {}",
            r.error,
            r.text()
        );
    }
}

/// A streamed put is one binding call however many chunks it takes; so is a streamed get.
#[test]
fn streamed_values_count_as_one_subrequest_each() {
    let code = "export default { async fetch(req, env) {
        let c = 0;
        const source = new ReadableStream({
            pull(controller) {
                if (c++ === 50) return controller.close();
                controller.enqueue(new Uint8Array(100000).fill(7));
            },
        });
        await env.KV.put('k', source);
        let n = 0;
        for await (const chunk of await env.KV.get('k', 'stream')) n += chunk.byteLength;
        let third;
        try { await env.KV.get('k'); third = 'ok'; } catch (e) { third = e.message; }
        return Response.json([n, third]);
    } };";
    let config = EngineConfig {
        max_subrequests: 2,
        ..config()
    };
    let r = run(
        config,
        code,
        Env::new().kv("KV", Arc::new(ThreadStore::default())),
    );
    assert_eq!(r.error, None);
    assert_eq!(
        r.text(),
        r#"[5000000,"Too many subrequests by single Worker invocation."]"#
    );
}
