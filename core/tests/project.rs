//! A wrangler project opened inside an engine: config, embedded stores under the state
//! directory, host stores replacing them, static assets in front of the worker, load errors.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worker_core::kv::{KvPutOptions, KvStore};
use worker_core::project::{Project, ProjectOptions, read_config};
use worker_core::stores::SqliteKv;
use worker_core::{Engine, EngineConfig, Env, ErrorKind, WorkerRequest, WorkerSource};

fn engine() -> Engine {
    let loader = |site: &str, _: &str| -> Result<WorkerSource, String> {
        Err(format!("{site}: not from the loader"))
    };
    let config = EngineConfig {
        pool_size: 1,
        ..Default::default()
    };
    Engine::new(config, Arc::new(loader)).unwrap()
}

fn project_dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wk-core-project-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const CONFIG: &str = r#"{
  // comments and trailing commas, as wrangler allows
  "name": "shop",
  "main": "src/index.js",
  "vars": { "GREETING": "hi", "LIMITS": { "n": 3 } },
  "kv_namespaces": [{ "binding": "KV", "id": "abc" }],
  "assets": { "directory": "public" },
}"#;

const WORKER: &str = r#"
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/put") {
      await env.KV.put("k", "stored");
      return new Response("ok");
    }
    const v = await env.KV.get("k");
    return Response.json({ greeting: env.GREETING, n: env.LIMITS.n, v, extra: env.EXTRA ?? null });
  },
};
"#;

fn get(project: &Project, path: &str) -> (u16, String) {
    let r = project.fetch_blocking(WorkerRequest::get(format!("http://example.com{path}")));
    assert!(r.error.is_none(), "{path}: {:?}", r.error);
    (r.status, r.text())
}

#[test]
fn serves_assets_then_worker_with_embedded_stores_under_the_state_dir() {
    let dir = project_dir(
        "embedded",
        &[
            ("wrangler.jsonc", CONFIG),
            ("src/index.js", WORKER),
            ("public/hello.txt", "static hello"),
        ],
    );
    let state = dir.join("state");
    let engine = engine();
    let options = ProjectOptions {
        state_dir: Some(state.clone()),
        ..Default::default()
    };
    let project = Project::open(&engine, &dir.join("wrangler.jsonc"), options).unwrap();
    assert_eq!(project.name(), "shop");
    assert_eq!(get(&project, "/hello.txt"), (200, "static hello".into()));
    assert_eq!(get(&project, "/put"), (200, "ok".into()));
    let (status, body) = get(&project, "/");
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"greeting":"hi","n":3,"v":"stored","extra":null}"#);
    assert!(
        state.join("kv/abc.sqlite").is_file(),
        "KV persisted under the state dir"
    );
    drop(project);

    // A directory finds its config; the stored value survives reopening.
    let options = ProjectOptions {
        state_dir: Some(state),
        ..Default::default()
    };
    let project = Project::open(&engine, &dir, options).unwrap();
    assert!(get(&project, "/").1.contains(r#""v":"stored""#));
    engine.shutdown();
}

#[test]
fn host_env_replaces_the_configs_bindings_and_vars() {
    let dir = project_dir(
        "host",
        &[
            ("wrangler.jsonc", CONFIG),
            ("src/index.js", WORKER),
            ("public/a.txt", "a"),
        ],
    );
    let host_kv = SqliteKv::open(dir.join("host.sqlite")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(host_kv.put("k", b"from the host".to_vec(), KvPutOptions::default()))
        .unwrap();
    let engine = engine();
    let options = ProjectOptions {
        state_dir: Some(dir.join("state")),
        env: Env::new()
            .var("GREETING", "hello")
            .var("EXTRA", "added")
            .kv("KV", Arc::new(host_kv)),
        ..Default::default()
    };
    let project = Project::open(&engine, &dir.join("wrangler.jsonc"), options).unwrap();
    assert_eq!(
        get(&project, "/").1,
        r#"{"greeting":"hello","n":3,"v":"from the host","extra":"added"}"#
    );
    assert!(
        !dir.join("state/kv/abc.sqlite").exists(),
        "no embedded store is opened for a binding the host supplies"
    );
    engine.shutdown();
}

#[test]
fn a_bare_script_is_a_project() {
    let dir = project_dir(
        "script",
        &[(
            "worker.js",
            "addEventListener('fetch', e => e.respondWith(new Response('sw')));",
        )],
    );
    let engine = engine();
    let project =
        Project::open(&engine, &dir.join("worker.js"), ProjectOptions::default()).unwrap();
    assert_eq!(project.name(), "worker");
    assert_eq!(get(&project, "/"), (200, "sw".into()));
    engine.shutdown();
}

#[test]
fn load_errors_are_clear() {
    let engine = engine();
    let open = |p: &Path| {
        Project::open(&engine, p, ProjectOptions::default())
            .err()
            .unwrap()
    };

    let dir = project_dir(
        "syntax",
        &[
            ("wrangler.json", r#"{"main": "index.js"}"#),
            (
                "index.js",
                "export default {\n  fetch() { return new Response( }\n};\n",
            ),
        ],
    );
    let e = open(&dir.join("wrangler.json"));
    assert_eq!(e.kind, ErrorKind::Script);
    assert_eq!(
        e.location.as_deref().map(|l| l.starts_with("index.js:2:")),
        Some(true),
        "{e:?}"
    );

    let e = open(&dir.join("missing.js"));
    assert!(
        e.message.contains("cannot read") && e.message.contains("missing.js"),
        "{e}"
    );

    let empty = project_dir("empty", &[("README", "")]);
    let e = open(&empty);
    assert!(
        e.message
            .contains("no wrangler.jsonc / wrangler.json / wrangler.toml"),
        "{e}"
    );

    let bad = project_dir("badjson", &[("wrangler.jsonc", "{\n  \"main\": \n}")]);
    let e = open(&bad.join("wrangler.jsonc"));
    assert!(e.message.contains("wrangler.jsonc:3:"), "{e}");
    engine.shutdown();
}

#[test]
fn read_config_parses_jsonc_and_toml() {
    let dir = project_dir(
        "read",
        &[
            ("wrangler.jsonc", CONFIG),
            (
                "wrangler.toml",
                "name = \"t\"\n[[kv_namespaces]]\nbinding = \"A\"\nid = \"1\"\n",
            ),
        ],
    );
    let v = read_config(&dir.join("wrangler.jsonc")).unwrap();
    assert_eq!(v["kv_namespaces"][0]["binding"], "KV");
    assert_eq!(v["vars"]["LIMITS"]["n"], 3);
    let v = read_config(&dir.join("wrangler.toml")).unwrap();
    assert_eq!(v["kv_namespaces"][0]["binding"], "A");
    assert!(read_config(&dir.join("nope.jsonc")).is_err());
}
