//! Static assets: the embedded directory server (html_handling, not_found_handling, ETags,
//! conditional requests, methods, percent-encoding, and never serving outside the directory),
//! the router in front of a worker, and `env.ASSETS.fetch()` against host fetchers that answer
//! from another thread or fail.
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use worker_core::assets::{
    AssetRequest, AssetResponse, AssetsFetcher, AssetsRouter, Route, RunWorkerFirst,
};
use worker_core::stores::{AssetsOptions, DirAssets, HtmlHandling, NotFoundHandling};
use worker_core::*;

/// A fresh directory holding `files` (path, content).
fn site(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wk-assets-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for (path, content) in files {
        let p = d.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    std::fs::create_dir_all(&d).unwrap();
    d
}

const PAGES: &[(&str, &str)] = &[
    ("index.html", "home"),
    ("about.html", "about"),
    ("blog/index.html", "blog index"),
    ("blog/post.html", "blog post"),
    ("style.css", "body{}"),
    ("404.html", "root 404"),
    ("docs/404.html", "docs 404"),
    ("docs/intro.html", "intro"),
    ("caf\u{e9}.txt", "accent"),
    ("with space.txt", "spaced"),
    ("_headers", "/*\n  X: y\n"),
];

fn dir_assets(dir: &Path, html: HtmlHandling, not_found: NotFoundHandling) -> DirAssets {
    DirAssets::new(
        dir,
        AssetsOptions {
            html_handling: html,
            not_found_handling: not_found,
        },
    )
    .unwrap()
}

fn get(a: &DirAssets, path: &str) -> AssetResponse {
    a.fetch_blocking(&AssetRequest::get(format!("https://site.example{path}")))
        .unwrap()
}

/// `200 body`, `307 -> location`, or `404` / `405` / `304` for bodiless answers.
fn outcome(r: &AssetResponse) -> String {
    match r.status {
        307 => format!("307 -> {}", r.header("location").unwrap()),
        s if r.body.is_empty() => s.to_string(),
        s => format!("{s} {}", String::from_utf8_lossy(&r.body)),
    }
}

fn check_table(a: &DirAssets, table: &[(&str, &str)]) {
    let got: Vec<(String, String)> = table
        .iter()
        .map(|(p, _)| (p.to_string(), outcome(&get(a, p))))
        .collect();
    let want: Vec<(String, String)> = table
        .iter()
        .map(|(p, o)| (p.to_string(), o.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn auto_trailing_slash() {
    let d = site("auto", PAGES);
    let a = dir_assets(&d, HtmlHandling::AutoTrailingSlash, NotFoundHandling::None);
    check_table(
        &a,
        &[
            ("/", "200 home"),
            ("/index", "307 -> /"),
            ("/index.html", "307 -> /"),
            ("/about", "200 about"),
            ("/about.html", "307 -> /about"),
            ("/about/", "307 -> /about"),
            ("/about/index.html", "307 -> /about"),
            ("/blog", "307 -> /blog/"),
            ("/blog/", "200 blog index"),
            ("/blog/index", "307 -> /blog/"),
            ("/blog/index.html", "307 -> /blog/"),
            ("/blog/post", "200 blog post"),
            ("/blog/post/", "307 -> /blog/post"),
            ("/blog/post.html", "307 -> /blog/post"),
            ("/about.html?ref=nav", "307 -> /about?ref=nav"),
            ("/style.css/", "404"),
            ("/missing", "404"),
        ],
    );
}

#[test]
fn force_trailing_slash() {
    let d = site("force", PAGES);
    let a = dir_assets(&d, HtmlHandling::ForceTrailingSlash, NotFoundHandling::None);
    check_table(
        &a,
        &[
            ("/", "200 home"),
            ("/index.html", "307 -> /"),
            ("/about", "307 -> /about/"),
            ("/about.html", "307 -> /about/"),
            ("/about/", "200 about"),
            ("/about/index.html", "307 -> /about/"),
            ("/blog", "307 -> /blog/"),
            ("/blog/", "200 blog index"),
            ("/blog/post", "307 -> /blog/post/"),
            ("/blog/post/", "200 blog post"),
            ("/blog/post.html", "307 -> /blog/post/"),
            ("/style.css", "200 body{}"),
            ("/style.css/", "404"),
        ],
    );
}

#[test]
fn drop_trailing_slash() {
    let d = site("drop", PAGES);
    let a = dir_assets(&d, HtmlHandling::DropTrailingSlash, NotFoundHandling::None);
    check_table(
        &a,
        &[
            ("/", "200 home"),
            ("/index", "307 -> /"),
            ("/index.html", "307 -> /"),
            ("/about", "200 about"),
            ("/about/", "307 -> /about"),
            ("/about/index.html", "307 -> /about"),
            ("/blog", "200 blog index"),
            ("/blog/", "307 -> /blog"),
            ("/blog/index", "307 -> /blog"),
            ("/blog/index.html", "307 -> /blog"),
            ("/blog/post/", "307 -> /blog/post"),
            ("/blog/post.html", "307 -> /blog/post"),
        ],
    );
}

#[test]
fn html_handling_none_serves_exact_files_only() {
    let d = site("none", PAGES);
    let a = dir_assets(&d, HtmlHandling::None, NotFoundHandling::None);
    check_table(
        &a,
        &[
            ("/", "404"),
            ("/index.html", "200 home"),
            ("/about", "404"),
            ("/about.html", "200 about"),
            ("/blog/", "404"),
            ("/blog/index.html", "200 blog index"),
        ],
    );
}

#[test]
fn not_found_handling() {
    let d = site("notfound", PAGES);
    let spa = dir_assets(
        &d,
        HtmlHandling::AutoTrailingSlash,
        NotFoundHandling::SinglePageApplication,
    );
    check_table(
        &spa,
        &[
            ("/missing", "200 home"),
            ("/deep/missing/page", "200 home"),
            ("/style.css", "200 body{}"),
        ],
    );
    let page = dir_assets(
        &d,
        HtmlHandling::AutoTrailingSlash,
        NotFoundHandling::NotFoundPage,
    );
    check_table(
        &page,
        &[
            ("/missing", "404 root 404"),
            ("/docs/missing", "404 docs 404"),
            ("/docs/deeper/missing", "404 docs 404"),
            ("/docs/intro", "200 intro"),
        ],
    );
    let r = get(&page, "/docs/x");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    // Other methods: 405 where something would be served, plain 404 for a real miss.
    let post = |a: &DirAssets, p: &str| {
        a.fetch_blocking(&AssetRequest::get(format!("http://h{p}")).method("POST"))
            .unwrap()
            .status
    };
    assert_eq!(post(&page, "/missing"), 405);
    assert_eq!(post(&spa, "/missing"), 405);
    let none = dir_assets(&d, HtmlHandling::AutoTrailingSlash, NotFoundHandling::None);
    assert_eq!(post(&none, "/missing"), 404);
    assert_eq!(post(&none, "/style.css"), 405);
    assert_eq!(post(&none, "/about.html"), 405);
}

#[test]
fn headers_etags_and_conditional_requests() {
    let d = site("etag", PAGES);
    let a = dir_assets(&d, HtmlHandling::AutoTrailingSlash, NotFoundHandling::None);
    let r = get(&a, "/style.css");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=0, must-revalidate")
    );
    let etag = r.header("etag").unwrap().to_string();
    assert!(
        etag.len() == 34
            && etag.starts_with('"')
            && etag.ends_with('"')
            && etag[1..33]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{etag}"
    );
    assert_eq!(get(&a, "/style.css").header("etag"), Some(etag.as_str()));
    assert_ne!(get(&a, "/about").header("etag"), Some(etag.as_str()));

    let cond = |v: &str| {
        a.fetch_blocking(&AssetRequest::get("http://h/style.css").header("If-None-Match", v))
            .unwrap()
    };
    let not_modified = cond(&etag);
    assert_eq!((not_modified.status, not_modified.body.len()), (304, 0));
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(cond(&format!("W/{etag}")).status, 304);
    assert_eq!(cond(&format!("\"x\", {etag}")).status, 200);
    assert_eq!(cond("*").status, 200);

    // HEAD: headers, no body. Range and Authorization: no Cache-Control, whole file.
    let head = a
        .fetch_blocking(&AssetRequest::get("http://h/style.css").method("HEAD"))
        .unwrap();
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    for h in ["Range", "Authorization"] {
        let r = a
            .fetch_blocking(&AssetRequest::get("http://h/style.css").header(h, "bytes=0-1"))
            .unwrap();
        assert_eq!((r.status, r.header("cache-control")), (200, None));
        assert_eq!(r.body, b"body{}");
    }

    // An edited file gets a new ETag and new content at once.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(d.join("style.css"), "body{color:red}").unwrap();
    let r = get(&a, "/style.css");
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.body, b"body{color:red}");
}

#[test]
fn percent_encoding_and_query() {
    let d = site("encoding", PAGES);
    let a = dir_assets(&d, HtmlHandling::AutoTrailingSlash, NotFoundHandling::None);
    check_table(
        &a,
        &[
            ("/caf%C3%A9.txt", "200 accent"),
            ("/with%20space.txt", "200 spaced"),
            ("/with space.txt", "200 spaced"),
            // Lower-case hex and needless escapes redirect to the canonical spelling.
            ("/caf%c3%a9.txt", "307 -> /caf%C3%A9.txt"),
            ("/styl%65.css?v=1", "307 -> /style.css?v=1"),
            ("/style.css?v=1", "200 body{}"),
            ("//style.css", "307 -> /style.css"),
        ],
    );
}

#[test]
fn never_serves_outside_the_directory() {
    let outer = site(
        "outside",
        &[
            ("secret.txt", "top secret"),
            ("public/ok.txt", "ok"),
            ("public/_headers", "secret headers"),
            ("public/.assetsignore", "secret ignore"),
        ],
    );
    let public = outer.join("public");
    std::os::unix::fs::symlink(outer.join("secret.txt"), public.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(&outer, public.join("up")).unwrap();
    std::os::unix::fs::symlink(public.join("ok.txt"), public.join("inside.txt")).unwrap();
    let a = dir_assets(
        &public,
        HtmlHandling::AutoTrailingSlash,
        NotFoundHandling::None,
    );
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/ok.txt/..%2f..%2fsecret.txt",
        "/link.txt",
        "/up/secret.txt",
        "/%00ok.txt",
        "/ok.txt%00",
        "/.",
        "/_headers",
        "/.assetsignore",
    ] {
        let r = get(&a, path);
        assert!(
            r.status == 404 || r.status == 307,
            "{path}: {}",
            outcome(&r)
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("secret"),
            "{path}"
        );
        if r.status == 307 {
            // A redirect may only point at another spelling, never at content.
            let again = get(&a, r.header("location").unwrap());
            assert_eq!(again.status, 404, "{path} -> {}", outcome(&again));
        }
    }
    // A symlink that stays inside the directory is fine.
    assert_eq!(outcome(&get(&a, "/inside.txt")), "200 ok");
    let _ = std::fs::remove_dir_all(&outer);
}

#[test]
fn a_missing_directory_is_an_error() {
    let e = DirAssets::new("/nonexistent/wk/assets", AssetsOptions::default())
        .err()
        .unwrap();
    assert!(e.contains("/nonexistent/wk/assets"), "{e}");
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn router_decisions() {
    let d = site("router", PAGES);
    let spa = dir_assets(
        &d,
        HtmlHandling::AutoTrailingSlash,
        NotFoundHandling::SinglePageApplication,
    );
    let req = |p: &str| AssetRequest::get(format!("http://h{p}"));
    let route = |router: &AssetsRouter, r: AssetRequest| block(router.route(&spa, &r)).unwrap();

    let plain = AssetsRouter {
        has_worker: true,
        ..Default::default()
    };
    assert_eq!(route(&plain, req("/style.css")), Route::Assets);
    assert_eq!(route(&plain, req("/about.html")), Route::Assets); // its redirect
    assert_eq!(
        route(&plain, req("/style.css").method("POST")),
        Route::Assets
    ); // its 405
    // A miss runs the worker even though the SPA fallback would serve index.html ...
    assert_eq!(route(&plain, req("/app/route")), Route::Worker);
    let nav = req("/app/route").header("Sec-Fetch-Mode", "navigate");
    assert_eq!(route(&plain, nav.clone()), Route::Worker);
    // ... except for navigations once the compatibility flag is on.
    let prefers = AssetsRouter {
        navigation_prefers_assets: true,
        ..plain.clone()
    };
    assert_eq!(route(&prefers, nav), Route::Assets);
    assert_eq!(route(&prefers, req("/app/route")), Route::Worker);

    let always = AssetsRouter {
        run_worker_first: RunWorkerFirst::Always,
        has_worker: true,
        ..Default::default()
    };
    assert_eq!(route(&always, req("/style.css")), Route::Worker);

    let patterns = AssetsRouter {
        run_worker_first: RunWorkerFirst::from_patterns(&["/api/*", "!/api/docs/*", "/admin"]),
        has_worker: true,
        ..Default::default()
    };
    assert_eq!(route(&patterns, req("/api/x")), Route::Worker);
    assert_eq!(route(&patterns, req("/api/docs/missing")), Route::Assets);
    assert_eq!(route(&patterns, req("/admin")), Route::Worker);
    assert_eq!(route(&patterns, req("/admin/users")), Route::Worker); // miss -> worker
    assert_eq!(route(&patterns, req("/style.css")), Route::Assets);

    // Without a worker everything is the assets' to answer.
    let assets_only = AssetsRouter::default();
    assert_eq!(route(&assets_only, req("/nothing")), Route::Assets);
}

/// A host fetcher that answers from another thread after a delay, or fails.
struct ThreadFetcher {
    inner: DirAssets,
    fail: bool,
}

#[async_trait]
impl AssetsFetcher for ThreadFetcher {
    async fn fetch(&self, request: AssetRequest) -> Result<AssetResponse, HostError> {
        if self.fail {
            return Err(HostError::new("asset store offline"));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let inner = self.inner.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            let _ = tx.send(inner.fetch_blocking(&request));
        });
        rx.await.map_err(|_| HostError::new("answer lost"))?
    }
}

fn run(code: &str, env: Env, req: WorkerRequest) -> ExecuteResult {
    let code = code.to_string();
    let loader = move |_: &str, _: &str| Ok(WorkerSource::module(code.clone()));
    let config = EngineConfig {
        pool_size: 1,
        ..Default::default()
    };
    let engine = Engine::new(config, Arc::new(loader)).expect("engine starts");
    let r = engine.execute_blocking("assets", "v1", Arc::new(env), req);
    engine.shutdown();
    r
}

#[test]
fn binding_fetch_through_the_engine() {
    let d = site("binding", PAGES);
    let dir = dir_assets(&d, HtmlHandling::AutoTrailingSlash, NotFoundHandling::None);
    let code = r#"export default { async fetch(request, env) {
        const A = env.STATIC;
        const d = async (r) => ({ status: r.status, url: r.url, redirected: r.redirected,
            type: r.headers.get("content-type"), location: r.headers.get("location"), body: await r.text() });
        const etag = (await A.fetch("http://x/style.css")).headers.get("etag");
        let relative;
        try { await A.fetch("/style.css"); } catch (e) { relative = `${e.name}: ${e.message}`; }
        const res = await A.fetch(request);
        let immutable;
        try { res.headers.set("x", "y"); } catch (e) { immutable = e.message; }
        return Response.json({
            tag: Object.prototype.toString.call(A),
            incoming: await d(res),
            immutable,
            followed: await d(await A.fetch("https://any.host/about.html?q=1")),
            manual: await d(await A.fetch(new Request("http://x/about.html", { redirect: "manual" }))),
            url: (await A.fetch(new URL("http://x/caf%C3%A9.txt"))).status,
            head: await d(await A.fetch("http://x/style.css", { method: "HEAD" })),
            notModified: (await A.fetch("http://x/style.css", { headers: { "If-None-Match": etag } })).status,
            post: (await A.fetch("http://x/style.css", { method: "POST", body: "x" })).status,
            missing: await d(await A.fetch("http://x/nope")),
            relative,
        });
    } };"#;
    let env = Env::new().assets(
        "STATIC",
        Arc::new(ThreadFetcher {
            inner: dir.clone(),
            fail: false,
        }),
    );
    let r = run(code, env, WorkerRequest::get("http://site.example/blog/"));
    assert_eq!(r.error, None);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "tag": "[object Fetcher]",
            "incoming": {"status": 200, "url": "http://site.example/blog/", "redirected": false,
                "type": "text/html; charset=utf-8", "location": null, "body": "blog index"},
            "immutable": "Can't modify immutable headers.",
            "followed": {"status": 200, "url": "https://any.host/about?q=1", "redirected": true,
                "type": "text/html; charset=utf-8", "location": null, "body": "about"},
            "manual": {"status": 307, "url": "http://x/about.html", "redirected": false,
                "type": null, "location": "/about", "body": ""},
            "url": 200,
            "head": {"status": 200, "url": "http://x/style.css", "redirected": false,
                "type": "text/css; charset=utf-8", "location": null, "body": ""},
            "notModified": 304,
            "post": 405,
            "missing": {"status": 404, "url": "http://x/nope", "redirected": false,
                "type": null, "location": null, "body": ""},
            "relative": "TypeError: Invalid URL: /style.css",
        })
    );

    // The embedded DirAssets works as a binding directly too.
    let code = r#"export default { async fetch(request, env) {
        return env.ASSETS.fetch("http://x/docs/intro");
    } };"#;
    let r = run(
        code,
        Env::new().assets("ASSETS", Arc::new(dir)),
        WorkerRequest::get("http://h/"),
    );
    assert_eq!((r.status, r.text().as_str()), (200, "intro"));
}

#[test]
fn a_failing_fetcher_rejects_with_its_message() {
    let d = site("failing", PAGES);
    let fetcher = ThreadFetcher {
        inner: dir_assets(&d, HtmlHandling::None, NotFoundHandling::None),
        fail: true,
    };
    let code = r#"export default { async fetch(request, env) {
        try { await env.ASSETS.fetch("http://x/style.css"); return new Response("resolved"); }
        catch (e) { return new Response(`${e.constructor.name}: ${e.message}`); }
    } };"#;
    let r = run(
        code,
        Env::new().assets("ASSETS", Arc::new(fetcher)),
        WorkerRequest::get("http://h/"),
    );
    assert_eq!(r.text(), "Error: asset store offline");
}
