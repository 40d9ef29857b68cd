//! R2 buckets: the embedded store (objects as files, a SQLite index) across engines, bodies
//! streaming in both directions far past the isolate's heap limit, host stores written in Rust
//! answering from other threads or failing, and the store-side helpers.
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use worker_core::body::{self, Body};
use worker_core::r2::*;
use worker_core::stores::FsR2;
use worker_core::*;

fn run(config: EngineConfig, code: &str, env: Env) -> ExecuteResult {
    let code = code.to_string();
    let loader = move |_: &str, _: &str| Ok(WorkerSource::module(code.clone()));
    let engine = Engine::new(config, Arc::new(loader)).expect("engine starts");
    let r = engine.execute_blocking("r2", "v1", Arc::new(env), WorkerRequest::get("http://x/"));
    engine.shutdown();
    r
}

fn config() -> EngineConfig {
    EngineConfig {
        pool_size: 1,
        ..Default::default()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wk-core-r2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn bucket(dir: &PathBuf) -> Env {
    Env::new().r2("BUCKET", Arc::new(FsR2::open(dir).expect("bucket opens")))
}

fn ok_text(r: &ExecuteResult) -> String {
    assert_eq!(r.error, None, "logs: {:?}", r.logs);
    r.text()
}

#[test]
fn the_embedded_store_keeps_objects_for_the_next_engine() {
    let dir = temp_dir("persist");
    let write = "export default { async fetch(req, env) {
        const o = await env.BUCKET.put('docs/a.txt', 'hello', {
            httpMetadata: { contentType: 'text/plain' }, customMetadata: { by: 'ada' } });
        await env.BUCKET.put('docs/b.txt', new Uint8Array([1, 2, 3]));
        await env.BUCKET.put('z', 'last');
        return Response.json({ etag: o.etag, size: o.size });
    } };";
    assert_eq!(
        ok_text(&run(config(), write, bucket(&dir))),
        r#"{"etag":"5d41402abc4b2a76b9719d911017c592","size":5}"#
    );

    let read = "export default { async fetch(req, env) {
        const a = await env.BUCKET.get('docs/a.txt');
        const list = await env.BUCKET.list({ delimiter: '/', include: ['customMetadata'] });
        const docs = await env.BUCKET.list({ prefix: 'docs/', limit: 1 });
        const more = await env.BUCKET.list({ prefix: 'docs/', cursor: docs.cursor });
        const part = await env.BUCKET.get('docs/a.txt', { range: { offset: 1, length: 3 } });
        return Response.json({
            text: await a.text(), type: a.httpMetadata.contentType, by: a.customMetadata.by,
            keys: list.objects.map((o) => o.key), prefixes: list.delimitedPrefixes,
            page1: docs.objects.map((o) => o.key), truncated: docs.truncated,
            page2: more.objects.map((o) => o.key), done: !more.truncated,
            part: await part.text(), range: part.range,
        });
    } };";
    assert_eq!(
        ok_text(&run(config(), read, bucket(&dir))),
        r#"{"text":"hello","type":"text/plain","by":"ada","keys":["z"],"prefixes":["docs/"],"page1":["docs/a.txt"],"truncated":true,"page2":["docs/b.txt"],"done":true,"part":"ell","range":{"offset":1,"length":3}}"#
    );

    let delete = "export default { async fetch(req, env) {
        await env.BUCKET.delete(['docs/a.txt', 'z']);
        return Response.json((await env.BUCKET.list()).objects.map((o) => o.key));
    } };";
    assert_eq!(
        ok_text(&run(config(), delete, bucket(&dir))),
        r#"["docs/b.txt"]"#
    );
    // Deleted objects' files are gone; only the one left remains.
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// md5 of the bytes the streaming test's worker generates: byte i of chunk c is (c * 7 + i) % 251.
fn pattern_md5(total: usize, chunk: usize) -> String {
    let mut h = R2Hasher::new(&R2Checksums::default());
    let mut buf = vec![0u8; chunk];
    for c in 0..total / chunk {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = ((c * 7 + i) % 251) as u8;
        }
        h.update(&buf);
    }
    let md5 = h.finish().unwrap().md5.unwrap();
    md5.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_100_mb_object_streams_both_ways_through_a_32_mb_isolate() {
    const TOTAL: usize = 100 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let dir = temp_dir("stream");
    // The worker generates the object chunk by chunk into a FixedLengthStream that put() reads,
    // then reads it back chunk by chunk, keeping only a running sum, and hashes nothing itself:
    // the etag (the store's MD5) and the sum prove the bytes.
    let code = format!(
        "export default {{ async fetch(req, env) {{
        const TOTAL = {TOTAL}, CHUNK = {CHUNK};
        const {{ readable, writable }} = new FixedLengthStream(TOTAL);
        const writing = (async () => {{
            const w = writable.getWriter();
            for (let c = 0; c < TOTAL / CHUNK; c++) {{
                const chunk = new Uint8Array(CHUNK);
                for (let i = 0; i < CHUNK; i++) chunk[i] = (c * 7 + i) % 251;
                await w.write(chunk);
            }}
            await w.close();
        }})();
        const put = await env.BUCKET.put('big', readable);
        await writing;
        const obj = await env.BUCKET.get('big');
        const reader = obj.body.getReader();
        let n = 0, sum = 0, chunks = 0;
        for (;;) {{
            const {{ done, value }} = await reader.read();
            if (done) break;
            chunks++;
            n += value.byteLength;
            for (let i = 0; i < value.byteLength; i += 4096) sum = (sum + value[i]) % 1000000007;
        }}
        return Response.json({{ etag: put.etag, size: put.size, n, sum, chunks, getSize: obj.size }});
    }} }};"
    );
    let mut expected_sum: u64 = 0;
    for c in 0..TOTAL / CHUNK {
        for i in (0..CHUNK).step_by(4096) {
            expected_sum = (expected_sum + ((c * 7 + i) % 251) as u64) % 1_000_000_007;
        }
    }
    let config = EngineConfig {
        memory_limit_mb: 32,
        ..config()
    };
    let r = run(config, &code, bucket(&dir));
    let v: serde_json::Value = serde_json::from_str(&ok_text(&r)).unwrap();
    assert_eq!(v["etag"], pattern_md5(TOTAL, CHUNK));
    assert_eq!(v["size"], TOTAL);
    assert_eq!(v["getSize"], TOTAL);
    assert_eq!(v["n"], TOTAL);
    assert_eq!(v["sum"], expected_sum);
    // It arrived in many chunks, never as one piece.
    assert!(v["chunks"].as_u64().unwrap() >= 100, "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A host store keeping objects in memory that does its work on threads of its own: put bodies
/// are read there with blocking reads, get bodies are written there into a pipe a chunk at a
/// time, after the call has returned. Or it fails every call.
#[derive(Default)]
struct ThreadStore {
    data: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    fail: bool,
}

fn object(key: &str, bytes: &[u8]) -> R2Object {
    let mut h = R2Hasher::new(&R2Checksums::default());
    h.update(bytes);
    let checksums = h.finish().unwrap();
    R2Object {
        key: key.into(),
        version: "v".into(),
        size: bytes.len() as u64,
        etag: checksums
            .md5
            .as_ref()
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        uploaded: 1_700_000_000_000.0,
        checksums,
        storage_class: "Standard".into(),
        ..Default::default()
    }
}

impl ThreadStore {
    fn check(&self) -> Result<(), HostError> {
        if self.fail {
            return Err(HostError::new("store offline: connection refused"));
        }
        Ok(())
    }
}

#[async_trait]
impl R2Store for ThreadStore {
    async fn head(&self, key: &str) -> Result<Option<R2Object>, HostError> {
        self.check()?;
        Ok(self.data.lock().unwrap().get(key).map(|b| object(key, b)))
    }

    async fn get(&self, key: &str, options: R2GetOptions) -> Result<R2GetResult, HostError> {
        self.check()?;
        let Some(bytes) = self.data.lock().unwrap().get(key).cloned() else {
            return Ok(R2GetResult::NotFound);
        };
        let o = object(key, &bytes);
        if let Some(c) = &options.only_if
            && !c.holds(Some((&o.etag, o.uploaded)))
        {
            return Ok(R2GetResult::PreconditionFailed(o));
        }
        let range = match options.range {
            Some(r) => r.resolve(o.size)?,
            None => R2Range {
                offset: 0,
                length: o.size,
            },
        };
        let (writer, body) = body::pipe();
        let slice = bytes[range.offset as usize..(range.offset + range.length) as usize].to_vec();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            for c in slice.chunks(3) {
                if writer.write_blocking(c.to_vec()).is_err() {
                    return;
                }
            }
            writer.end_blocking(None);
        });
        Ok(R2GetResult::Found {
            object: o,
            range,
            body,
        })
    }

    async fn put(
        &self,
        key: &str,
        mut body: Body,
        options: R2PutOptions,
    ) -> Result<Option<R2Object>, HostError> {
        self.check()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut all = Vec::new();
            let r = loop {
                match body::next_chunk_blocking(&mut body) {
                    Ok(Some(c)) => all.extend_from_slice(&c),
                    Ok(None) => break Ok(all),
                    Err(e) => break Err(e.expect("a host thread may block")),
                }
            };
            let _ = tx.send(r);
        });
        let bytes = rx.await.map_err(|_| HostError::new("lost"))??;
        assert_eq!(bytes.len() as u64, options.size);
        let mut data = self.data.lock().unwrap();
        let current = data.get(key).map(|b| object(key, b));
        if let Some(c) = &options.only_if
            && !c.holds(current.as_ref().map(|o| (o.etag.as_str(), o.uploaded)))
        {
            return Ok(None);
        }
        let o = object(key, &bytes);
        data.insert(key.to_string(), bytes);
        Ok(Some(o))
    }

    async fn delete(&self, keys: &[String]) -> Result<(), HostError> {
        self.check()?;
        let mut data = self.data.lock().unwrap();
        for k in keys {
            data.remove(k);
        }
        Ok(())
    }

    async fn list(&self, _: R2ListOptions) -> Result<R2Objects, HostError> {
        self.check()?;
        let data = self.data.lock().unwrap();
        Ok(R2Objects {
            objects: data.iter().map(|(k, v)| object(k, v)).collect(),
            ..Default::default()
        })
    }
}

#[test]
fn a_host_store_streams_bodies_from_its_own_threads() {
    let code = "export default { async fetch(req, env) {
        const B = env.BUCKET;
        const { readable, writable } = new FixedLengthStream(11);
        const w = writable.getWriter();
        w.write(new TextEncoder().encode('hello '));
        w.write(new TextEncoder().encode('world'));
        w.close();
        const put = await B.put('k', readable);
        const got = await B.get('k');
        const chunks = [];
        for await (const c of got.body) chunks.push(new TextDecoder().decode(c));
        const ranged = await (await B.get('k', { range: { suffix: 5 } })).text();
        const failed = await B.get('k', { onlyIf: { etagDoesNotMatch: put.etag } });
        const kept = await B.put('k', 'other', { onlyIf: { etagMatches: 'nope' } });
        await B.put('j', 'jj');
        const keys = (await B.list()).objects.map((o) => o.key);
        await B.delete('k');
        return Response.json({ etag: put.etag, chunks, ranged, failedHasBody: 'body' in failed,
            kept, keys, gone: await B.head('k') });
    } };";
    let r = run(
        config(),
        code,
        Env::new().r2("BUCKET", Arc::new(ThreadStore::default())),
    );
    assert_eq!(
        ok_text(&r),
        r#"{"etag":"5eb63bbbe01eeed093cb22bb8f5acdc3","chunks":["hel","lo ","wor","ld"],"ranged":"world","failedHasBody":false,"kept":null,"keys":["j","k"],"gone":null}"#
    );
}

#[test]
fn a_failing_store_rejects_with_its_message() {
    let code = "export default { async fetch(req, env) {
        const out = [];
        for (const f of [() => env.BUCKET.get('k'), () => env.BUCKET.put('k', 'v'),
                         () => env.BUCKET.list(), () => env.BUCKET.delete('k')]) {
            try { await f(); out.push('resolved'); } catch (e) { out.push(`${e.name}: ${e.message}`); }
        }
        return Response.json(out);
    } };";
    let store = ThreadStore {
        fail: true,
        ..Default::default()
    };
    let r = run(config(), code, Env::new().r2("BUCKET", Arc::new(store)));
    assert_eq!(
        ok_text(&r),
        r#"["Error: get: store offline: connection refused","Error: put: store offline: connection refused","Error: list: store offline: connection refused","Error: delete: store offline: connection refused"]"#
    );
}

#[test]
fn a_stream_that_fails_midway_stores_nothing() {
    let dir = temp_dir("abort");
    let code = "export default { async fetch(req, env) {
        const { readable, writable } = new FixedLengthStream(3 * 1024 * 1024);
        const w = writable.getWriter();
        (async () => {
            await w.write(new Uint8Array(1024 * 1024));
            await w.write(new Uint8Array(1024 * 1024));
            await w.abort(new Error('producer gave up'));
        })().catch(() => {});
        let error;
        try { await env.BUCKET.put('partial', readable); } catch (e) { error = e.message; }
        // A stream of the wrong length fails too.
        const short = new Response('abc').body;
        const { readable: r2, writable: w2 } = new FixedLengthStream(2);
        const w2w = w2.getWriter();
        w2w.write(new Uint8Array(1)); w2w.close().catch(() => {});
        let shortError;
        try { await env.BUCKET.put('short', r2); } catch (e) { shortError = e.name; }
        return Response.json({ error, shortError, stored: await env.BUCKET.head('partial'),
            short: await env.BUCKET.head('short'), ok: (await env.BUCKET.put('ok', short)).size });
    } };";
    let r = run(config(), code, bucket(&dir));
    assert_eq!(
        ok_text(&r),
        r#"{"error":"producer gave up","shortError":"TypeError","stored":null,"short":null,"ok":3}"#
    );
    // Nothing half-written is left: one object, no temporary files.
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn conditionals_follow_http_precedence() {
    let etag = "abc";
    let t = 1_700_000_000_500.0;
    let c = |f: fn(&mut R2Conditional)| {
        let mut c = R2Conditional::default();
        f(&mut c);
        c
    };
    let strong = |s: &str| Some(vec![R2Etag::Strong(s.into())]);
    // etagMatches
    assert!(
        c(|c| c.etag_matches = Some(vec![R2Etag::Strong("abc".into())])).holds(Some((etag, t)))
    );
    assert!(!c(|c| c.etag_matches = Some(vec![R2Etag::Strong("x".into())])).holds(Some((etag, t))));
    assert!(c(|c| c.etag_matches = Some(vec![R2Etag::Any])).holds(Some((etag, t))));
    // A weak etag never satisfies etagMatches, but does etagDoesNotMatch's weak comparison.
    assert!(!c(|c| c.etag_matches = Some(vec![R2Etag::Weak("abc".into())])).holds(Some((etag, t))));
    assert!(
        !c(|c| c.etag_does_not_match = Some(vec![R2Etag::Weak("abc".into())]))
            .holds(Some((etag, t)))
    );
    // Times, and a holding etagMatches overriding uploadedBefore.
    let mut before = R2Conditional {
        uploaded_before: Some(t - 1000.0),
        ..Default::default()
    };
    assert!(!before.holds(Some((etag, t))));
    before.etag_matches = strong("abc");
    assert!(before.holds(Some((etag, t))));
    // Seconds granularity: 500 ms into the same second is not "after".
    let after = R2Conditional {
        uploaded_after: Some(t - 400.0),
        seconds_granularity: true,
        ..Default::default()
    };
    assert!(!after.holds(Some((etag, t))));
    assert!(
        R2Conditional {
            seconds_granularity: false,
            ..after.clone()
        }
        .holds(Some((etag, t)))
    );
    // A missing object satisfies only conditions that do not need one.
    assert!(!c(|c| c.etag_matches = Some(vec![R2Etag::Any])).holds(None));
    assert!(c(|c| c.etag_does_not_match = Some(vec![R2Etag::Any])).holds(None));
    assert!(!c(|c| c.uploaded_after = Some(0.0)).holds(None));
    assert!(c(|c| c.uploaded_before = Some(0.0)).holds(None));
    // JSON round trip (the C ABI's format).
    let full = R2Conditional {
        etag_matches: Some(vec![R2Etag::Any, R2Etag::Weak("w".into())]),
        etag_does_not_match: strong("s"),
        uploaded_before: Some(1.0),
        uploaded_after: Some(2.0),
        seconds_granularity: true,
    };
    assert_eq!(R2Conditional::from_json(&full.to_json()), full);
}

#[test]
fn ranges_and_checksums() {
    let b = |offset, length| R2RangeRequest::Bounds { offset, length };
    let r = |offset, length| R2Range { offset, length };
    assert_eq!(b(Some(2), Some(3)).resolve(10).unwrap(), r(2, 3));
    assert_eq!(b(Some(8), Some(100)).resolve(10).unwrap(), r(8, 2));
    assert_eq!(b(None, None).resolve(0).unwrap(), r(0, 0));
    assert_eq!(R2RangeRequest::Suffix(50).resolve(10).unwrap(), r(0, 10));
    assert_eq!(
        b(Some(20), None).resolve(10).unwrap_err().message,
        "The requested range is not satisfiable (10039)"
    );

    let mut h = R2Hasher::new(&R2Checksums {
        sha256: Some(vec![0; 32]),
        ..Default::default()
    });
    h.update(b"hello");
    let e = h.finish().unwrap_err();
    assert!(
        e.message
            .starts_with("The SHA-256 checksum you specified did not match"),
        "{e}"
    );
    assert!(e.message.ends_with(
        "Actual SHA-256 was: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 (10037)"
    ));
    // Multipart etags: md5 of the parts' md5s, then the part count.
    let md5 = |s: &[u8]| {
        let mut h = R2Hasher::new(&R2Checksums::default());
        h.update(s);
        h.finish().unwrap().md5.unwrap()
    };
    let etag = multipart_etag(&[md5(b"a"), md5(b"b")]);
    assert!(etag.ends_with("-2") && etag.len() == 34, "{etag}");
}

#[test]
fn a_multipart_upload_survives_a_restart_and_checks_its_parts() {
    let dir = temp_dir("multipart");
    let start = "export default { async fetch(req, env) {
        const up = await env.BUCKET.createMultipartUpload('big', {
            httpMetadata: { contentType: 'application/x-test' } });
        const p1 = await up.uploadPart(1, new Uint8Array(5 * 1024 * 1024).fill(97));
        return Response.json({ id: up.uploadId, p1 });
    } };";
    let v: serde_json::Value =
        serde_json::from_str(&ok_text(&run(config(), start, bucket(&dir)))).unwrap();
    let finish = format!(
        "export default {{ async fetch(req, env) {{
        const up = env.BUCKET.resumeMultipartUpload('big', {id});
        const p2 = await up.uploadPart(2, 'tail');
        let wrong;
        try {{ await up.complete([{p1}, {{ partNumber: 2, etag: 'x' }}]); }} catch (e) {{ wrong = e.message; }}
        const o = await up.complete([{p1}, p2]);
        const tail = await (await env.BUCKET.get('big', {{ range: {{ suffix: 5 }} }})).text();
        let again;
        try {{ await up.uploadPart(3, 'x'); }} catch (e) {{ again = e.message; }}
        return Response.json({{ size: o.size, multipart: /^[0-9a-f]{{32}}-2$/.test(o.etag),
            type: o.httpMetadata.contentType, tail, wrong, again }});
    }} }};",
        id = v["id"],
        p1 = v["p1"]
    );
    assert_eq!(
        ok_text(&run(config(), &finish, bucket(&dir))),
        r#"{"size":5242884,"multipart":true,"type":"application/x-test","tail":"atail","wrong":"completeMultipartUpload: One or more of the specified parts could not be found. (10025)","again":"uploadPart: The specified multipart upload does not exist. (10024)"}"#
    );
    // The parts' files went with the upload: only the object's file is left.
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_body_read_partly_or_not_at_all_is_released() {
    let dir = temp_dir("cancel");
    let code = "export default { async fetch(req, env) {
        await env.BUCKET.put('k', new Uint8Array(1024 * 1024).fill(1));
        const a = await env.BUCKET.get('k');
        const r = a.body.getReader();
        const first = (await r.read()).value.byteLength;
        await r.cancel();
        const b = await env.BUCKET.get('k');       // never read
        await env.BUCKET.put('k', 'replaced');     // its file goes; b's open file is unaffected
        const c = await env.BUCKET.get('k');
        return Response.json({ first, used: a.bodyUsed, b: b.bodyUsed, c: await c.text() });
    } };";
    let code = code.to_string();
    let loader = move |_: &str, _: &str| Ok(WorkerSource::module(code.clone()));
    let engine = Engine::new(config(), Arc::new(loader)).expect("engine starts");
    let env = Arc::new(bucket(&dir));
    let r = engine.execute_blocking("r2", "v1", env, WorkerRequest::get("http://x/"));
    assert_eq!(
        ok_text(&r),
        r#"{"first":262144,"used":true,"b":false,"c":"replaced"}"#
    );
    // The request is over and the isolate still alive: no object file is open any more.
    let blobs = dir.join("blobs");
    let open = || {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.starts_with(&blobs))
            .count()
    };
    for _ in 0..100 {
        if open() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(open(), 0);
    engine.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
