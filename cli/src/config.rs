//! Reading a wrangler configuration (`wrangler.jsonc`, `wrangler.json` or `wrangler.toml`).
//!
//! Only what `wk` can honour today is taken from it: `name`, `main`, `vars`,
//! `compatibility_date`, `compatibility_flags`, `kv_namespaces` and `r2_buckets`. Every binding it cannot provide yet is
//! reported by name so a developer never wonders why `env.MY_KV` is undefined, and keys we do
//! not know at all are reported too rather than silently ignored.
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::jsonc;

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
    /// `kv_namespaces`: (binding, namespace id). The id names the local store.
    pub kv_namespaces: Vec<(String, String)>,
    /// `r2_buckets`: (binding, bucket name). The bucket name names the local store.
    pub r2_buckets: Vec<(String, String)>,
    /// Human-readable warnings about what the config asks for but `wk` does not do.
    pub warnings: Vec<String>,
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

/// Finds a wrangler config in `dir`, in wrangler's order.
pub fn find_in(dir: &Path) -> Option<PathBuf> {
    CONFIG_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Reads and interprets a config file.
pub fn load(path: &Path) -> Result<WranglerConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = parse(path, &text)?;
    interpret(path, value)
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

/// Binding types `wk` provides, with embedded stores under the state directory.
const SUPPORTED_BINDINGS: &[&str] = &["kv_namespaces", "r2_buckets"];

/// Binding types: keys whose entries would each add something to `env`.
const BINDING_KEYS: &[&str] = &[
    "d1_databases",
    "durable_objects",
    "queues",
    "services",
    "assets",
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
        cfg.kv_namespaces = kv_namespaces(path, v)?;
    }
    if let Some(v) = obj.get("r2_buckets") {
        cfg.r2_buckets = r2_buckets(path, v)?;
    }

    for (key, v) in &obj {
        let key = key.as_str();
        if QUIET_KEYS.contains(&key) || SUPPORTED_BINDINGS.contains(&key) {
            continue;
        }
        if BINDING_KEYS.contains(&key) {
            let names = binding_names(key, v);
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

/// `[{ "binding": "KV", "id": "..." }, ...]`; without an id the binding name names the store,
/// as with `wrangler dev`.
fn kv_namespaces(path: &Path, v: &Value) -> Result<Vec<(String, String)>, String> {
    let bad = || {
        format!(
            "{}: `kv_namespaces` must be an array of {{ \"binding\": ..., \"id\": ... }} objects",
            path.display()
        )
    };
    let items = v.as_array().ok_or_else(bad)?;
    items
        .iter()
        .map(|e| {
            let binding = e.get("binding").and_then(Value::as_str).ok_or_else(bad)?;
            let id = e
                .get("id")
                .or_else(|| e.get("preview_id"))
                .and_then(Value::as_str)
                .unwrap_or(binding);
            Ok((binding.to_string(), id.to_string()))
        })
        .collect()
}

/// `[{ "binding": "BUCKET", "bucket_name": "..." }, ...]`; without a bucket name the binding
/// name names the store, as with `wrangler dev`.
fn r2_buckets(path: &Path, v: &Value) -> Result<Vec<(String, String)>, String> {
    let bad = || {
        format!(
            "{}: `r2_buckets` must be an array of {{ \"binding\": ..., \"bucket_name\": ... }} objects",
            path.display()
        )
    };
    let items = v.as_array().ok_or_else(bad)?;
    items
        .iter()
        .map(|e| {
            let binding = e.get("binding").and_then(Value::as_str).ok_or_else(bad)?;
            let bucket = e
                .get("bucket_name")
                .or_else(|| e.get("preview_bucket_name"))
                .and_then(Value::as_str)
                .unwrap_or(binding);
            Ok((binding.to_string(), bucket.to_string()))
        })
        .collect()
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
fn binding_names(key: &str, v: &Value) -> Vec<String> {
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
            if key == "queues" {
                for e in o
                    .get("producers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    names.extend(entry_name(e));
                }
                for e in o
                    .get("consumers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(q) = e.get("queue").and_then(Value::as_str) {
                        names.push(format!("consumer of {q}"));
                    }
                }
            } else if let Some(list) = o.get("bindings").and_then(Value::as_array) {
                names.extend(list.iter().filter_map(entry_name));
            } else if let Some(n) = entry_name(v) {
                names.push(n);
            } else if key == "assets" {
                if let Some(d) = o.get("directory").and_then(Value::as_str) {
                    names.push(format!("directory {d}"));
                }
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
        assert_eq!(c.kv_namespaces, kv);
        assert!(w.contains("`durable_objects` (ROOM)"), "{w}");
        assert!(w.contains("`queues` (Q, consumer of q)"), "{w}");
        assert!(w.contains("`ai` (AI)"), "{w}");
        assert!(w.contains("`send_email` (MAIL)"), "{w}");
        assert!(w.contains("unknown configuration key `whatever`"), "{w}");
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

    #[test]
    fn r2_buckets_name_their_stores() {
        let c = cfg(json!({
            "r2_buckets": [{"binding": "B", "bucket_name": "photos"}, {"binding": "OTHER"}]
        }));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let r2 = [("B", "photos"), ("OTHER", "OTHER")].map(|(b, n)| (b.into(), n.into()));
        assert_eq!(c.r2_buckets, r2);
    }
}
