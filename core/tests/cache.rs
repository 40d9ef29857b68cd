//! The Cache API: the HTTP rules the runtime applies (what put stores and for how long, how a
//! stored response answers conditional and range requests), the engine's in-memory default
//! (shared across requests, deploys and threads of one site, apart between sites, bounded and
//! expiring), and host stores answering later from another thread or failing.
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use worker_core::cache::{
    CacheStore, CachedResponse, MatchConditions, answer, now_ms, prepare_put,
};
use worker_core::stores::MemoryCache;
use worker_core::*;

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const NOW: u64 = 1_700_000_000_000;

/// Seconds of freshness `put` gives a 200 with these headers, or None if it is not stored.
fn ttl(headers: &[(&str, &str)]) -> Option<u64> {
    ttl_for(200, headers)
}

fn ttl_for(status: u16, headers: &[(&str, &str)]) -> Option<u64> {
    prepare_put(status, h(headers), b"x".to_vec(), NOW).map(|e| (e.expires_at - NOW) / 1000)
}

#[test]
fn put_lifetime_follows_s_maxage_then_max_age_then_expires_then_the_status_default() {
    assert_eq!(ttl(&[("cache-control", "max-age=600")]), Some(600));
    assert_eq!(
        ttl(&[("cache-control", "s-maxage=30, max-age=600")]),
        Some(30)
    );
    assert_eq!(
        ttl(&[("cache-control", "max-age=600, s-maxage=30")]),
        Some(30)
    );
    assert_eq!(ttl(&[("Cache-Control", "public, MAX-AGE=90")]), Some(90));
    // Several Cache-Control lines read as one list.
    assert_eq!(
        ttl(&[("cache-control", "public"), ("cache-control", "s-maxage=5")]),
        Some(5)
    );
    // max-age beats Expires, even a past one.
    assert_eq!(
        ttl(&[
            ("cache-control", "max-age=60"),
            ("expires", "Thu, 01 Jan 1970 00:00:00 GMT")
        ]),
        Some(60)
    );
    // Expires counts from Date when the response has one, else from now.
    let date = httpdate_of(NOW);
    let in_an_hour = httpdate_of(NOW + 3_600_000);
    assert_eq!(ttl(&[("expires", &in_an_hour)]), Some(3600));
    assert_eq!(
        ttl(&[("date", &httpdate_of(NOW - 600_000)), ("expires", &date)]),
        Some(600)
    );
    assert_eq!(ttl(&[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")]), None);
    assert_eq!(
        ttl(&[("expires", "0")]),
        None,
        "an invalid Expires is expired"
    );
    // Age is already spent.
    assert_eq!(
        ttl(&[("cache-control", "max-age=600"), ("age", "100")]),
        Some(500)
    );
    assert_eq!(ttl(&[("cache-control", "max-age=0")]), None);
    // Without a lifetime: Cloudflare's edge TTL by status.
    assert_eq!(ttl(&[]), Some(7200));
    assert_eq!(ttl(&[("cache-control", "public")]), Some(7200));
    assert_eq!(ttl_for(301, &[]), Some(7200));
    assert_eq!(ttl_for(302, &[]), Some(1200));
    assert_eq!(ttl_for(404, &[]), Some(180));
    assert_eq!(ttl_for(410, &[]), Some(180));
    assert_eq!(ttl_for(500, &[]), None);
    assert_eq!(ttl_for(201, &[]), None);
    assert_eq!(ttl_for(500, &[("cache-control", "max-age=10")]), Some(10));
}

fn httpdate_of(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms);
    // RFC 9110 IMF-fixdate, built by hand so the test does not lean on the code under test.
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86400;
    let (hh, mm, ss) = (secs % 86400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][m as usize - 1];
    format!("{wd}, {d:02} {mon} {y} {hh:02}:{mm:02}:{ss:02} GMT")
}

#[test]
fn put_refuses_no_store_private_no_cache_and_cookies() {
    assert_eq!(ttl(&[("cache-control", "no-store")]), None);
    assert_eq!(ttl(&[("cache-control", "no-store, max-age=600")]), None);
    assert_eq!(ttl(&[("cache-control", "private, max-age=600")]), None);
    assert_eq!(ttl(&[("cache-control", "no-cache, max-age=600")]), None);
    assert_eq!(
        ttl(&[
            ("cache-control", "no-cache=\"Set-Cookie\", max-age=600"),
            ("set-cookie", "a=1")
        ]),
        None
    );
    assert_eq!(
        ttl(&[("cache-control", "max-age=600"), ("set-cookie", "a=1")]),
        None
    );
    assert_eq!(
        ttl(&[
            ("cache-control", "public, max-age=600"),
            ("Set-Cookie", "a=1")
        ]),
        None
    );

    // private=Set-Cookie (quoted or not, any case) strips the cookies and stores the rest.
    for cc in [
        "private=Set-Cookie, max-age=600",
        "max-age=600, private=\"set-cookie\"",
        "private=\"X-Secret, Set-Cookie\", max-age=600",
    ] {
        let e = prepare_put(
            200,
            h(&[
                ("cache-control", cc),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("x-kept", "yes"),
            ]),
            b"body".to_vec(),
            NOW,
        )
        .unwrap_or_else(|| panic!("{cc} is stored"));
        assert!(!e.headers.iter().any(|(k, _)| k == "set-cookie"), "{cc}");
        assert!(e.headers.iter().any(|(k, v)| k == "x-kept" && v == "yes"));
        assert_eq!(e.body, b"body");
        assert_eq!(e.expires_at, NOW + 600_000);
    }
}

fn stored(headers: &[(&str, &str)], body: &str) -> CachedResponse {
    CachedResponse {
        status: 200,
        headers: h(headers),
        body: body.as_bytes().to_vec(),
        expires_at: NOW,
    }
}

fn ask(entry: &CachedResponse, headers: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    };
    let a = answer(
        entry.clone(),
        &MatchConditions {
            range: get("range"),
            if_none_match: get("if-none-match"),
            if_modified_since: get("if-modified-since"),
        },
    );
    assert!(
        a.headers
            .iter()
            .any(|(k, v)| k == "cf-cache-status" && v == "HIT"),
        "every hit carries CF-Cache-Status: HIT"
    );
    let range = a
        .headers
        .iter()
        .find(|(k, _)| k == "content-range")
        .map(|(_, v)| v.clone());
    let body = a
        .body
        .map_or("<none>".into(), |b| String::from_utf8(b).unwrap());
    (a.status, range, body)
}

#[test]
fn match_answers_ranges_and_conditional_requests() {
    let e = stored(
        &[
            ("etag", "\"v1\""),
            ("last-modified", "Wed, 01 Jan 2025 00:00:00 GMT"),
            ("content-length", "10"),
            ("cf-cache-status", "MISS"),
        ],
        "0123456789",
    );
    let range = |r: &str| ask(&e, &[("range", r)]);
    let slice = |range: &str, body: &str| (206, Some(range.to_string()), body.to_string());
    assert_eq!(range("bytes=2-5"), slice("bytes 2-5/10", "2345"));
    assert_eq!(range("bytes=7-"), slice("bytes 7-9/10", "789"));
    assert_eq!(range("bytes=-3"), slice("bytes 7-9/10", "789"));
    assert_eq!(range("bytes=-30"), slice("bytes 0-9/10", "0123456789"));
    assert_eq!(range("bytes=8-100"), slice("bytes 8-9/10", "89"));
    assert_eq!(
        range("bytes=10-"),
        (416, Some("bytes */10".into()), "".into())
    );
    assert_eq!(
        range("bytes=-0"),
        (416, Some("bytes */10".into()), "".into())
    );
    // Malformed, reversed or multiple ranges get the whole response.
    for r in [
        "bytes=5-2",
        "items=1-2",
        "bytes=0-1,4-5",
        "bytes=a-b",
        "bytes=-",
    ] {
        assert_eq!(range(r), (200, None, "0123456789".into()), "{r}");
    }

    let not_modified = (304, None, "<none>".to_string());
    let whole = (200, None, "0123456789".to_string());
    for inm in ["\"v1\"", "W/\"v1\"", "\"v0\", \"v1\"", "*"] {
        assert_eq!(ask(&e, &[("if-none-match", inm)]), not_modified, "{inm}");
    }
    assert_eq!(ask(&e, &[("if-none-match", "\"v2\"")]), whole);
    let ims = |d: &str| ask(&e, &[("if-modified-since", d)]).0;
    assert_eq!(ims("Thu, 02 Jan 2025 00:00:00 GMT"), 304);
    assert_eq!(ims("Wed, 01 Jan 2025 00:00:00 GMT"), 304);
    assert_eq!(ims("Tue, 31 Dec 2024 00:00:00 GMT"), 200);
    assert_eq!(ims("yesterday"), 200);
    // If-None-Match decides alone when both are present.
    assert_eq!(
        ask(
            &e,
            &[
                ("if-none-match", "\"v2\""),
                ("if-modified-since", "Thu, 02 Jan 2025 00:00:00 GMT")
            ]
        )
        .0,
        200
    );
    // A 304 keeps the validators but not the stored length.
    let a = answer(
        e.clone(),
        &MatchConditions {
            if_none_match: Some("\"v1\"".into()),
            ..Default::default()
        },
    );
    assert!(a.headers.iter().any(|(k, v)| k == "etag" && v == "\"v1\""));
    assert!(!a.headers.iter().any(|(k, _)| k == "content-length"));
    assert_eq!(
        a.headers
            .iter()
            .filter(|(k, _)| k == "cf-cache-status")
            .count(),
        1
    );

    // Ranges apply to 200s only; a cached 404 answers as stored.
    let gone = CachedResponse {
        status: 404,
        ..stored(&[], "not here")
    };
    assert_eq!(
        ask(&gone, &[("range", "bytes=0-2")]),
        (404, None, "not here".into())
    );
}

fn entry(body: usize, ttl_ms: u64) -> CachedResponse {
    CachedResponse {
        status: 200,
        headers: Vec::new(),
        body: vec![b'x'; body],
        expires_at: now_ms() + ttl_ms,
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn memory_cache_evicts_least_recently_used_within_its_budget_and_drops_expired_entries() {
    block(async {
        let cache = MemoryCache::new(4000);
        for k in ["a", "b", "c"] {
            cache.put(None, k, entry(1000, 60_000)).await.unwrap();
        }
        assert!(cache.used_bytes() <= 4000);
        // Reading "a" makes "b" the least recently used, so the next put evicts "b".
        assert!(cache.get(None, "a").await.unwrap().is_some());
        cache.put(None, "d", entry(1000, 60_000)).await.unwrap();
        assert!(cache.get(None, "b").await.unwrap().is_none());
        for k in ["a", "c", "d"] {
            assert!(cache.get(None, k).await.unwrap().is_some(), "{k} kept");
        }
        assert!(cache.used_bytes() <= 4000);

        // Larger than the whole budget: not kept, and the old entry under that key is gone.
        cache.put(None, "a", entry(5000, 60_000)).await.unwrap();
        assert!(cache.get(None, "a").await.unwrap().is_none());

        // Named caches and the default one are apart.
        cache
            .put(Some("img"), "c", entry(10, 60_000))
            .await
            .unwrap();
        assert_eq!(
            cache
                .get(Some("img"), "c")
                .await
                .unwrap()
                .unwrap()
                .body
                .len(),
            10
        );
        assert_eq!(
            cache.get(None, "c").await.unwrap().unwrap().body.len(),
            1000
        );
        assert!(cache.get(Some("default"), "c").await.unwrap().is_none());

        // Expired entries are never returned, and deleting one reports nothing was there.
        cache.put(None, "short", entry(10, 50)).await.unwrap();
        cache.put(None, "short2", entry(10, 50)).await.unwrap();
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.get(None, "short").await.unwrap().is_none());
        assert!(!cache.delete(None, "short2").await.unwrap());
        assert!(cache.delete(None, "d").await.unwrap());
        assert!(!cache.delete(None, "d").await.unwrap());
    });
}

#[test]
fn memory_cache_scopes_share_the_budget_but_not_entries() {
    block(async {
        let cache = Arc::new(MemoryCache::new(10_000));
        let (a, b) = (cache.scoped("site-a"), cache.scoped("site-b"));
        a.put(None, "https://x/", entry(100, 60_000)).await.unwrap();
        assert!(a.get(None, "https://x/").await.unwrap().is_some());
        assert!(b.get(None, "https://x/").await.unwrap().is_none());
        assert!(!b.delete(None, "https://x/").await.unwrap());
        assert!(cache.used_bytes() >= 100);
        assert_eq!(cache.len(), 1);
    });
}

fn engine(pool_size: usize, code: &str) -> Engine {
    let code = code.to_string();
    let loader = move |_: &str, _: &str| Ok(WorkerSource::module(code.clone()));
    let config = EngineConfig {
        pool_size,
        ..Default::default()
    };
    Engine::new(config, Arc::new(loader)).expect("engine starts")
}

/// A worker that stores `?put=<text>` under /entry and otherwise reports what is there.
const STORE_AND_READ: &str = "export default { async fetch(req) {
    const url = new URL(req.url);
    const put = url.searchParams.get('put');
    if (put !== null) {
        await caches.default.put('https://app.example/entry',
            new Response(put, { headers: { 'cache-control': url.searchParams.get('cc') ?? 'max-age=600' } }));
    }
    const hit = await caches.default.match('https://app.example/entry');
    return new Response(hit ? await hit.text() : 'miss');
} };";

fn get(engine: &Engine, site: &str, deploy: &str, path: &str) -> String {
    let r = engine.execute_blocking(
        site,
        deploy,
        Arc::new(Env::new()),
        WorkerRequest::get(format!("http://x{path}")),
    );
    assert_eq!(r.error, None);
    r.text()
}

#[test]
fn the_default_cache_is_shared_by_a_sites_deploys_and_threads_but_not_across_sites() {
    let e = engine(3, STORE_AND_READ);
    assert_eq!(get(&e, "shop", "v1", "/?put=hello"), "hello");
    // Other deploy keys of the same site land on other executor threads (keys hash across 3
    // threads) and still see the entry.
    for deploy in ["v1", "v2", "v3", "v4", "v5", "v6"] {
        assert_eq!(get(&e, "shop", deploy, "/"), "hello", "deploy {deploy}");
    }
    assert_eq!(get(&e, "blog", "v1", "/"), "miss");
    assert_eq!(get(&e, "blog", "v1", "/?put=other"), "other");
    assert_eq!(get(&e, "shop", "v2", "/"), "hello");

    // Entries expire: max-age=1 is gone a little over a second later.
    assert_eq!(get(&e, "news", "v1", "/?put=brief&cc=max-age%3D1"), "brief");
    std::thread::sleep(Duration::from_millis(1150));
    assert_eq!(get(&e, "news", "v1", "/"), "miss");
    e.shutdown();

    // Each engine has its own default cache.
    let e = engine(1, STORE_AND_READ);
    assert_eq!(get(&e, "shop", "v1", "/"), "miss");
    e.shutdown();
}

/// A store that answers from a separate thread after `delay`, or fails every call, and records
/// what it was asked.
type Entries = HashMap<(Option<String>, String), CachedResponse>;

#[derive(Default)]
struct ThreadStore {
    data: Arc<Mutex<Entries>>,
    delay: Duration,
    fail: bool,
}

impl ThreadStore {
    async fn answer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Entries) -> T + Send + 'static,
    ) -> Result<T, HostError> {
        if self.fail {
            return Err(HostError::new("cache backend unreachable"));
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
impl CacheStore for ThreadStore {
    async fn get(
        &self,
        cache: Option<&str>,
        url: &str,
    ) -> Result<Option<CachedResponse>, HostError> {
        let key = (cache.map(str::to_string), url.to_string());
        self.answer(move |d| d.get(&key).cloned()).await
    }
    async fn put(
        &self,
        cache: Option<&str>,
        url: &str,
        r: CachedResponse,
    ) -> Result<(), HostError> {
        let key = (cache.map(str::to_string), url.to_string());
        self.answer(move |d| {
            d.insert(key, r);
        })
        .await
    }
    async fn delete(&self, cache: Option<&str>, url: &str) -> Result<bool, HostError> {
        let key = (cache.map(str::to_string), url.to_string());
        self.answer(move |d| d.remove(&key).is_some()).await
    }
}

fn run(env: Env, code: &str) -> ExecuteResult {
    let e = engine(1, code);
    let r = e.execute_blocking("site", "v1", Arc::new(env), WorkerRequest::get("http://x/"));
    e.shutdown();
    r
}

#[test]
fn a_host_store_answering_from_another_thread_gets_only_storable_responses() {
    let store = Arc::new(ThreadStore {
        delay: Duration::from_millis(10),
        ..Default::default()
    });
    let code = r#"export default { async fetch() {
        const named = await caches.open("pics");
        await caches.default.put("https://a.example/x#frag", new Response("default x", {
            headers: { "cache-control": "max-age=60", "set-cookie": "s=1" } }));
        await caches.default.put("https://a.example/x", new Response("default x", {
            headers: { "cache-control": "private=set-cookie, max-age=60", "set-cookie": "s=1", etag: '"e"' } }));
        await named.put("https://a.example/x", new Response("named x", { headers: { "cache-control": "no-store" } }));
        await named.put("https://a.example/y", new Response("named y"));
        const hit = await caches.default.match("https://a.example/x#other");
        const cond = await caches.default.match(new Request("https://a.example/x", { headers: { "if-none-match": '"e"' } }));
        return Response.json({
            hit: [hit.status, await hit.text(), hit.headers.get("cf-cache-status"), hit.headers.get("set-cookie")],
            cond: cond.status,
            namedX: String(await named.match("https://a.example/x")),
            namedY: await (await named.match("https://a.example/y")).text(),
            deleted: [await named.delete("https://a.example/y"), await named.delete("https://a.example/y")],
        });
    } };"#;
    let r = run(Env::new().cache(store.clone()), code);
    assert_eq!(r.error, None, "{:?}", r.logs);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "hit": [200, "default x", "HIT", null],
            "cond": 304,
            "namedX": "undefined",
            "namedY": "named y",
            "deleted": [true, false],
        })
    );
    // The store saw only what may be stored, keyed without the fragment, cookie stripped.
    let data = store.data.lock().unwrap();
    let keys: Vec<_> = data.keys().cloned().collect();
    assert_eq!(keys, vec![(None, "https://a.example/x".to_string())]);
    let e = &data[&(None, "https://a.example/x".to_string())];
    assert!(!e.headers.iter().any(|(k, _)| k == "set-cookie"));
    let left = e.expires_at.saturating_sub(now_ms());
    assert!((55_000..=60_000).contains(&left), "{left}");
}

#[test]
fn entries_a_host_store_returns_after_their_expiry_are_misses() {
    let store = Arc::new(ThreadStore::default());
    store.data.lock().unwrap().insert(
        (None, "https://a.example/old".into()),
        CachedResponse {
            status: 200,
            headers: Vec::new(),
            body: b"stale".to_vec(),
            expires_at: now_ms() - 1,
        },
    );
    let code = r#"export default { async fetch() {
        return new Response(String(await caches.default.match("https://a.example/old")));
    } };"#;
    let r = run(Env::new().cache(store), code);
    assert_eq!(r.text(), "undefined");
}

#[test]
fn a_failing_host_store_rejects_with_its_message() {
    let store = Arc::new(ThreadStore {
        fail: true,
        ..Default::default()
    });
    let code = r#"export default { async fetch() {
        const out = [];
        for (const f of [
            () => caches.default.match("https://a.example/"),
            () => caches.default.put("https://a.example/", new Response("x")),
            () => caches.default.delete("https://a.example/"),
        ]) {
            try { await f(); out.push("resolved"); } catch (e) { out.push(`${e.constructor.name}: ${e.message}`); }
        }
        // An unstorable response never reaches the store, so it cannot fail.
        await caches.default.put("https://a.example/", new Response("x", { headers: { "cache-control": "no-store" } }));
        return Response.json(out);
    } };"#;
    let r = run(Env::new().cache(store), code);
    assert_eq!(r.error, None);
    assert_eq!(
        r.text(),
        r#"["Error: cache backend unreachable","Error: cache backend unreachable","Error: cache backend unreachable"]"#
    );
}

#[test]
fn cache_calls_count_toward_the_subrequest_limit() {
    let code = r#"export default { async fetch() {
        const out = [];
        for (let i = 0; i < 3; i++) {
            try { await caches.default.match("https://a.example/" + i); out.push("ok"); }
            catch (e) { out.push(e.message); }
        }
        return Response.json(out);
    } };"#;
    let loader = move |_: &str, _: &str| Ok(WorkerSource::module(code));
    let config = EngineConfig {
        pool_size: 1,
        max_subrequests: 2,
        ..Default::default()
    };
    let e = Engine::new(config, Arc::new(loader)).unwrap();
    let r = e.execute_blocking(
        "s",
        "v",
        Arc::new(Env::new()),
        WorkerRequest::get("http://x/"),
    );
    e.shutdown();
    assert_eq!(
        r.text(),
        r#"["ok","ok","Too many subrequests by single Worker invocation."]"#
    );
}
