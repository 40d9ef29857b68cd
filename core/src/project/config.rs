//! Reading a wrangler configuration (`wrangler.jsonc`, `wrangler.json` or `wrangler.toml`).
//!
//! Only what libworker can honour today is taken from it: `name`, `main`, `vars`,
//! `compatibility_date`, `compatibility_flags`, `kv_namespaces`, `r2_buckets`, `d1_databases`,
//! `queues` and `assets`. Every binding it cannot provide yet is reported by name so a developer never wonders
//! why `env.MY_KV` is undefined, and keys we do not know at all are reported too rather than
//! silently ignored.
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::jsonc;
use crate::assets::RunWorkerFirst;
use crate::stores::{HtmlHandling, NotFoundHandling};

/// The config file names wrangler looks for, in its order of preference.
pub const CONFIG_NAMES: [&str; 3] = ["wrangler.jsonc", "wrangler.json", "wrangler.toml"];

#[derive(Debug, Default)]
pub struct WranglerConfig {
    /// The file this came from.
    pub path: PathBuf,
    pub name: Option<String>,
    /// `main`, already resolved against the config file's directory.
    pub main: Option<PathBuf>,
    /// String vars (`env.X` is a string).
    pub text_vars: Vec<(String, String)>,
    /// Any other JSON value (`env.X` is the parsed value).
    pub json_vars: Vec<(String, Value)>,
    pub compatibility_date: Option<String>,
    pub compatibility_flags: Vec<String>,
    /// The bindings libworker provides: each gets an embedded store under the state directory.
    pub bindings: Bindings,
    /// Human-readable warnings about what the config asks for but libworker does not do.
    pub warnings: Vec<String>,
}

/// The config's bindings that libworker provides.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    /// `kv_namespaces`: (binding, namespace id). The id names the local store.
    pub kv_namespaces: Vec<(String, String)>,
    /// `r2_buckets`: (binding, bucket name). The bucket name names the local store.
    pub r2_buckets: Vec<(String, String)>,
    /// `d1_databases`: (binding, database id, or its name without an id). It names the local
    /// database file.
    pub d1_databases: Vec<(String, String)>,
    /// `assets`: static files served in front of the worker.
    pub assets: Option<AssetsConfig>,
    /// `queues.producers` and `queues.consumers`.
    pub queues: Queues,
}

/// wrangler's `assets` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetsConfig {
    /// `directory`, already resolved against the config file's directory.
    pub directory: PathBuf,
    /// `binding`: the name `env` exposes the assets under, if any.
    pub binding: Option<String>,
    pub html_handling: HtmlHandling,
    pub not_found_handling: NotFoundHandling,
    pub run_worker_first: RunWorkerFirst,
}

impl WranglerConfig {
    /// The directory `main` and other relative paths resolve against.
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// `queues.producers`: a binding that sends to a queue.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct QueueProducer {
    pub binding: String,
    pub queue: String,
    /// `delivery_delay`, seconds.
    pub delivery_delay: Option<u32>,
}

/// `queues.consumers`: the worker consumes a queue. Unset fields take Cloudflare's defaults.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct QueueConsumerConfig {
    pub queue: String,
    pub max_batch_size: Option<u32>,
    /// Seconds (fractions allowed).
    pub max_batch_timeout: Option<f64>,
    pub max_retries: Option<u32>,
    pub dead_letter_queue: Option<String>,
    /// Seconds.
    pub retry_delay: Option<u32>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Queues {
    pub producers: Vec<QueueProducer>,
    pub consumers: Vec<QueueConsumerConfig>,
}

/// Finds a wrangler config in `dir`, in wrangler's order.
pub fn find_in(dir: &Path) -> Option<PathBuf> {
    CONFIG_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Reads and interprets a config file.
pub fn load(path: &Path) -> Result<WranglerConfig, String> {
    interpret(path, read_value(path)?)
}

/// Reads a config file into JSON, uninterpreted.
pub fn read_value(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(path, &text)
}

/// Parses the text by the file's extension: `.toml` as TOML, anything else as JSONC (strict
/// JSON is a subset of it).
fn parse(path: &Path, text: &str) -> Result<Value, String> {
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_toml {
        let t: toml::Table =
            toml::from_str(text).map_err(|e| format!("{}: invalid TOML: {e}", path.display()))?;
        serde_json::to_value(t).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        serde_json::from_str(&jsonc::to_json(text)).map_err(|e| {
            format!(
                "{}:{}:{}: invalid JSON: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }
}

/// Keys that need no support from us (deployment metadata, build settings wrangler itself
/// handles before upload, or settings whose absence changes nothing locally).
const QUIET_KEYS: &[&str] = &[
    "$schema",
    "name",
    "main",
    "vars",
    "compatibility_date",
    "compatibility_flags",
    "account_id",
    "workers_dev",
    "preview_urls",
    "route",
    "routes",
    "env",
    "dev",
    "migrations",
    "observability",
    "logpush",
    "send_metrics",
    "upload_source_maps",
    "keep_vars",
    "minify",
    "no_bundle",
    "find_additional_modules",
    "base_dir",
    "preserve_file_names",
    "tsconfig",
    "usage_model",
    "placement",
    "node_compat",
    "jsx_factory",
    "jsx_fragment",
    "legacy_env",
    "first_party_worker",
    "keep_names",
];

/// Keys that change behaviour we do not implement yet: worth a warning, but not bindings.
const UNSUPPORTED_SETTINGS: &[&str] = &[
    "triggers",
    "limits",
    "rules",
    "build",
    "alias",
    "define",
    "site",
    "tail_consumers",
    "streaming_tail_consumers",
    "containers",
    "cloudchamber",
    "wasm_modules",
    "text_blobs",
    "data_blobs",
];

/// Binding types libworker provides, with embedded stores under the state directory.
const SUPPORTED_BINDINGS: &[&str] = &[
    "kv_namespaces",
    "r2_buckets",
    "d1_databases",
    "queues",
    "assets",
];

/// Binding types: keys whose entries would each add something to `env`.
const BINDING_KEYS: &[&str] = &[
    "durable_objects",
    "services",
    "ai",
    "vectorize",
    "hyperdrive",
    "analytics_engine_datasets",
    "browser",
    "worker_loaders",
    "send_email",
    "mtls_certificates",
    "dispatch_namespaces",
    "workflows",
    "version_metadata",
    "images",
    "secrets_store_secrets",
    "pipelines",
    "ratelimits",
    "unsafe",
    "logfwdr",
    "media",
];

fn interpret(path: &Path, value: Value) -> Result<WranglerConfig, String> {
    let Value::Object(obj) = value else {
        return Err(format!(
            "{}: the configuration must be an object",
            path.display()
        ));
    };
    let mut cfg = WranglerConfig {
        path: path.to_path_buf(),
        ..Default::default()
    };
    let dir = cfg.dir();

    cfg.name = string_field(path, &obj, "name")?;
    cfg.main = string_field(path, &obj, "main")?.map(|m| dir.join(m));
    cfg.compatibility_date = string_field(path, &obj, "compatibility_date")?;
    if let Some(flags) = obj.get("compatibility_flags") {
        let Some(list) = flags.as_array() else {
            return Err(format!(
                "{}: `compatibility_flags` must be an array of strings",
                path.display()
            ));
        };
        for f in list {
            let Some(s) = f.as_str() else {
                return Err(format!(
                    "{}: `compatibility_flags` must be an array of strings",
                    path.display()
                ));
            };
            cfg.compatibility_flags.push(s.to_string());
        }
    }
    if let Some(vars) = obj.get("vars") {
        let Some(vars) = vars.as_object() else {
            return Err(format!("{}: `vars` must be an object", path.display()));
        };
        for (k, v) in vars {
            match v {
                Value::String(s) => cfg.text_vars.push((k.clone(), s.clone())),
                other => cfg.json_vars.push((k.clone(), other.clone())),
            }
        }
    }

    if let Some(v) = obj.get("kv_namespaces") {
        cfg.bindings.kv_namespaces =
            store_bindings(path, v, "kv_namespaces", &["id", "preview_id"])?;
    }
    if let Some(v) = obj.get("r2_buckets") {
        cfg.bindings.r2_buckets = store_bindings(
            path,
            v,
            "r2_buckets",
            &["bucket_name", "preview_bucket_name"],
        )?;
    }
    if let Some(v) = obj.get("d1_databases") {
        cfg.bindings.d1_databases =
            store_bindings(path, v, "d1_databases", &["database_id", "database_name"])?;
    }
    if let Some(v) = obj.get("assets") {
        cfg.bindings.assets = Some(assets(path, &dir, v)?);
    }
    if let Some(v) = obj.get("queues") {
        cfg.bindings.queues = queues(path, v)?;
    }

    for (key, v) in &obj {
        let key = key.as_str();
        if QUIET_KEYS.contains(&key) || SUPPORTED_BINDINGS.contains(&key) {
            continue;
        }
        if BINDING_KEYS.contains(&key) {
            let names = binding_names(v);
            let what = if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            };
            cfg.warnings.push(format!(
                "binding type `{key}`{what} is not supported yet; it is not available in env"
            ));
        } else if UNSUPPORTED_SETTINGS.contains(&key) {
            cfg.warnings
                .push(format!("`{key}` is not supported yet; it is ignored"));
        } else {
            cfg.warnings
                .push(format!("unknown configuration key `{key}`; it is ignored"));
        }
    }
    Ok(cfg)
}

/// A binding list such as `kv_namespaces`: `[{ "binding": "KV", "<store key>": "..." }, ...]`,
/// read as (binding, store name). The store name is the first of `store_keys` present, else the
/// binding name, as with `wrangler dev`; it names the local store.
fn store_bindings(
    path: &Path,
    v: &Value,
    key: &str,
    store_keys: &[&str],
) -> Result<Vec<(String, String)>, String> {
    let bad = || {
        format!(
            "{}: `{key}` must be an array of {{ \"binding\": ..., \"{}\": ... }} objects",
            path.display(),
            store_keys[0]
        )
    };
    let items = v.as_array().ok_or_else(bad)?;
    items
        .iter()
        .map(|e| {
            let binding = e.get("binding").and_then(Value::as_str).ok_or_else(bad)?;
            let store = store_keys
                .iter()
                .find_map(|k| e.get(*k).and_then(Value::as_str))
                .unwrap_or(binding);
            Ok((binding.to_string(), store.to_string()))
        })
        .collect()
}

/// `{ "directory": "./public", "binding": "ASSETS", "html_handling": ..., "not_found_handling":
/// ..., "run_worker_first": false | true | ["/api/*", "!/api/docs/*"] }`.
fn assets(path: &Path, dir: &Path, v: &Value) -> Result<AssetsConfig, String> {
    let p = path.display();
    let Some(o) = v.as_object() else {
        return Err(format!("{p}: `assets` must be an object"));
    };
    let Some(directory) = o.get("directory").and_then(Value::as_str) else {
        return Err(format!(
            "{p}: `assets.directory` must name the directory of files to serve"
        ));
    };
    let text = |key: &str| -> Result<Option<&str>, String> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("{p}: `assets.{key}` must be a string")),
        }
    };
    let html_handling = match text("html_handling")? {
        None => HtmlHandling::default(),
        Some(s) => HtmlHandling::parse(s).ok_or_else(|| {
            format!(
                "{p}: `assets.html_handling` must be \"auto-trailing-slash\", \"force-trailing-slash\", \"drop-trailing-slash\" or \"none\", not {s:?}"
            )
        })?,
    };
    let not_found_handling = match text("not_found_handling")? {
        None => NotFoundHandling::default(),
        Some(s) => NotFoundHandling::parse(s).ok_or_else(|| {
            format!(
                "{p}: `assets.not_found_handling` must be \"none\", \"single-page-application\" or \"404-page\", not {s:?}"
            )
        })?,
    };
    let bad_rwf = || {
        format!("{p}: `assets.run_worker_first` must be a boolean or an array of route patterns")
    };
    let run_worker_first = match o.get("run_worker_first") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => RunWorkerFirst::Never,
        Some(Value::Bool(true)) => RunWorkerFirst::Always,
        Some(Value::Array(items)) => {
            let patterns = items
                .iter()
                .map(|i| i.as_str().ok_or_else(bad_rwf))
                .collect::<Result<Vec<_>, _>>()?;
            // wrangler refuses patterns that are not paths; so do we, rather than never match.
            if let Some(bad) = patterns
                .iter()
                .find(|r| !r.trim_start_matches('!').starts_with('/'))
            {
                return Err(format!(
                    "{p}: `assets.run_worker_first` pattern {bad:?} must start with \"/\" (or \"!/\")"
                ));
            }
            // As wrangler: a list needs at least one pattern that runs the worker.
            if !patterns.iter().any(|r| !r.starts_with('!')) {
                return Err(format!(
                    "{p}: `assets.run_worker_first` needs at least one pattern without \"!\""
                ));
            }
            RunWorkerFirst::from_patterns(&patterns)
        }
        Some(_) => return Err(bad_rwf()),
    };
    Ok(AssetsConfig {
        directory: dir.join(directory),
        binding: text("binding")?.map(str::to_string),
        html_handling,
        not_found_handling,
        run_worker_first,
    })
}

/// `{ "producers": [{ "binding", "queue", "delivery_delay"? }], "consumers": [{ "queue",
/// "max_batch_size"?, "max_batch_timeout"?, "max_retries"?, "dead_letter_queue"?,
/// "retry_delay"? }] }`.
fn queues(path: &Path, v: &Value) -> Result<Queues, String> {
    let bad = |what: &str| format!("{}: `queues.{what}`", path.display());
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{}: `queues` must be an object", path.display()))?;
    let list = |key: &str| -> Result<Vec<Map<String, Value>>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|e| {
                    e.as_object()
                        .cloned()
                        .ok_or_else(|| format!("{} must be an array of objects", bad(key)))
                })
                .collect(),
            Some(_) => Err(format!("{} must be an array of objects", bad(key))),
        }
    };
    let str_of = |e: &Map<String, Value>, key: &str, what: &str| -> Result<String, String> {
        e.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("{}: every entry needs a string `{key}`", bad(what)))
    };
    let num_of = |e: &Map<String, Value>, key: &str, what: &str| -> Result<Option<f64>, String> {
        match e.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|n| *n >= 0.0)
                .map(Some)
                .ok_or_else(|| format!("{}: `{key}` must be a non-negative number", bad(what))),
        }
    };
    let mut out = Queues::default();
    for e in list("producers")? {
        out.producers.push(QueueProducer {
            binding: str_of(&e, "binding", "producers")?,
            queue: str_of(&e, "queue", "producers")?,
            delivery_delay: num_of(&e, "delivery_delay", "producers")?.map(|n| n as u32),
        });
    }
    for e in list("consumers")? {
        out.consumers.push(QueueConsumerConfig {
            queue: str_of(&e, "queue", "consumers")?,
            max_batch_size: num_of(&e, "max_batch_size", "consumers")?.map(|n| n as u32),
            max_batch_timeout: num_of(&e, "max_batch_timeout", "consumers")?,
            max_retries: num_of(&e, "max_retries", "consumers")?.map(|n| n as u32),
            dead_letter_queue: e
                .get("dead_letter_queue")
                .and_then(Value::as_str)
                .map(str::to_string),
            retry_delay: num_of(&e, "retry_delay", "consumers")?.map(|n| n as u32),
        });
    }
    Ok(out)
}

fn string_field(
    path: &Path,
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{}: `{key}` must be a string", path.display())),
    }
}

/// The names a binding entry would appear under in `env`. Wrangler's shapes vary: most are
/// arrays of `{ binding }`, some use `name`, durable objects nest under `bindings`, queues
/// under `producers`/`consumers`, and a few (ai, browser, assets) are a single object.
fn binding_names(v: &Value) -> Vec<String> {
    fn entry_name(e: &Value) -> Option<String> {
        match e {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => ["binding", "name"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .map(str::to_string),
            _ => None,
        }
    }
    let mut names = Vec::new();
    match v {
        Value::Array(items) => names.extend(items.iter().filter_map(entry_name)),
        Value::Object(o) => {
            if let Some(list) = o.get("bindings").and_then(Value::as_array) {
                names.extend(list.iter().filter_map(entry_name));
            } else if let Some(n) = entry_name(v) {
                names.push(n);
            } else {
                names.extend(o.keys().cloned());
            }
        }
        _ => {}
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: Value) -> WranglerConfig {
        interpret(Path::new("/p/wrangler.jsonc"), v).unwrap()
    }

    #[test]
    fn vars_split_by_type() {
        let c = cfg(json!({"main": "src/i.js", "vars": {"A": "x", "B": 3, "C": {"k": [1]}}}));
        assert_eq!(c.main.unwrap(), PathBuf::from("/p/src/i.js"));
        assert_eq!(c.text_vars, vec![("A".to_string(), "x".to_string())]);
        assert_eq!(c.json_vars.len(), 2);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn r2_buckets_name_their_stores() {
        let c = cfg(json!({
            "r2_buckets": [{"binding": "B", "bucket_name": "photos"}, {"binding": "OTHER"}]
        }));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let r2 = [("B", "photos"), ("OTHER", "OTHER")].map(|(b, n)| (b.into(), n.into()));
        assert_eq!(c.bindings.r2_buckets, r2);
    }

    #[test]
    fn d1_databases_name_their_files_by_id_then_name() {
        let c = cfg(json!({
            "d1_databases": [
                {"binding": "DB", "database_name": "main", "database_id": "0000-1"},
                {"binding": "NAMED", "database_name": "other"},
                {"binding": "BARE"}
            ]
        }));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let d1 = [("DB", "0000-1"), ("NAMED", "other"), ("BARE", "BARE")]
            .map(|(b, i)| (b.into(), i.into()));
        assert_eq!(c.bindings.d1_databases, d1);
    }

    #[test]
    fn bindings_are_named() {
        let c = cfg(json!({
            "kv_namespaces": [{"binding": "MY_KV", "id": "1"}, {"binding": "OTHER"}],
            "durable_objects": {"bindings": [{"name": "ROOM", "class_name": "Room"}]},
            "queues": {"producers": [{"binding": "Q", "queue": "q"}], "consumers": [{"queue": "q"}]},
            "ai": {"binding": "AI"},
            "send_email": [{"name": "MAIL"}],
            "whatever": 1
        }));
        let w = c.warnings.join("\n");
        assert!(!w.contains("kv_namespaces"), "{w}");
        let kv = [("MY_KV", "1"), ("OTHER", "OTHER")].map(|(b, i)| (b.into(), i.into()));
        assert_eq!(c.bindings.kv_namespaces, kv);
        assert!(w.contains("`durable_objects` (ROOM)"), "{w}");
        assert!(!w.contains("queues"), "{w}");
        assert_eq!(c.bindings.queues.producers[0].binding, "Q");
        assert_eq!(c.bindings.queues.consumers[0].queue, "q");
        assert!(w.contains("`ai` (AI)"), "{w}");
        assert!(w.contains("`send_email` (MAIL)"), "{w}");
        assert!(w.contains("unknown configuration key `whatever`"), "{w}");
    }

    #[test]
    fn assets_section() {
        let c = cfg(json!({"main": "w.js", "assets": {
            "directory": "./public", "binding": "STATIC", "html_handling": "drop-trailing-slash",
            "not_found_handling": "404-page", "run_worker_first": ["/api/*", "!/api/docs/*"]
        }}));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let a = c.bindings.assets.unwrap();
        assert_eq!(a.directory, PathBuf::from("/p/./public"));
        assert_eq!(a.binding.as_deref(), Some("STATIC"));
        assert_eq!(a.html_handling, HtmlHandling::DropTrailingSlash);
        assert_eq!(a.not_found_handling, NotFoundHandling::NotFoundPage);
        assert_eq!(
            a.run_worker_first,
            RunWorkerFirst::Patterns {
                worker: vec!["/api/*".into()],
                assets: vec!["/api/docs/*".into()]
            }
        );
        let d = cfg(json!({"assets": {"directory": "dist"}}))
            .bindings
            .assets
            .unwrap();
        assert_eq!(
            (
                d.binding,
                d.html_handling,
                d.not_found_handling,
                d.run_worker_first
            ),
            (
                None,
                HtmlHandling::AutoTrailingSlash,
                NotFoundHandling::None,
                RunWorkerFirst::Never
            )
        );
        let p = Path::new("/p/wrangler.jsonc");
        for bad in [
            json!({"assets": {}}),
            json!({"assets": {"directory": "d", "html_handling": "auto"}}),
            json!({"assets": {"directory": "d", "not_found_handling": 404}}),
            json!({"assets": {"directory": "d", "run_worker_first": "yes"}}),
            json!({"assets": {"directory": "d", "run_worker_first": ["api/*"]}}),
            json!({"assets": {"directory": "d", "run_worker_first": []}}),
            json!({"assets": {"directory": "d", "run_worker_first": ["!/a/*"]}}),
        ] {
            assert!(interpret(p, bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn toml_config() {
        let v = parse(
            Path::new("wrangler.toml"),
            "name = \"t\"\nmain = \"w.js\"\n[vars]\nA = \"1\"\nB = true\n[[vectorize]]\nbinding = \"V\"\n",
        )
        .unwrap();
        let c = interpret(Path::new("wrangler.toml"), v).unwrap();
        assert_eq!(c.name.as_deref(), Some("t"));
        assert_eq!(c.main.unwrap(), PathBuf::from("./w.js"));
        assert_eq!(c.json_vars, vec![("B".to_string(), json!(true))]);
        assert!(c.warnings[0].contains("`vectorize` (V)"));
    }
}
