//! The corpus as the Rust runners read it (the `wk serve` runner in `cli/tests/conformance.rs`
//! and the C ABI runner in `ffi/tests/conformance.rs` include this file): which cases to run,
//! their requests, and how a reply is checked against `expect` as README.md describes.
//! Each runner uses only part of it.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

use serde_json::Value;

pub fn corpus_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    d.canonicalize().unwrap_or(d)
}

/// Every case directory, sorted; `WK_CONFORMANCE=case_a,case_b` limits the run to those.
pub fn case_dirs() -> Vec<PathBuf> {
    let filter: Option<Vec<String>> = std::env::var("WK_CONFORMANCE")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/conformance exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("requests.json").is_file())
        .filter(|p| {
            filter.as_ref().is_none_or(|f| {
                f.iter()
                    .any(|n| p.file_name().is_some_and(|x| x.to_string_lossy() == *n))
            })
        })
        .collect();
    dirs.sort();
    dirs
}

/// The case's wrangler config, if it has one.
pub fn config_file(dir: &Path) -> Option<PathBuf> {
    ["wrangler.jsonc", "wrangler.json", "wrangler.toml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// What a runner opens for the case: its config, else `worker.js`.
pub fn entry(dir: &Path) -> PathBuf {
    config_file(dir).unwrap_or_else(|| dir.join("worker.js"))
}

pub fn requests(dir: &Path) -> Result<Vec<Value>, String> {
    std::fs::read_to_string(dir.join("requests.json"))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("requests.json: {e}"))
}

/// A request's `headers` as pairs.
pub fn request_headers(r: &Value) -> Result<Vec<(String, String)>, String> {
    let mut headers = Vec::new();
    for h in r["headers"].as_array().into_iter().flatten() {
        match (
            h.get(0).and_then(Value::as_str),
            h.get(1).and_then(Value::as_str),
        ) {
            (Some(k), Some(v)) => headers.push((k.to_string(), v.to_string())),
            _ => return Err(format!("bad header entry {h}")),
        }
    }
    Ok(headers)
}

pub struct Reply {
    pub status: u16,
    /// The reason phrase a client would see.
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Compares a reply with an `expect` object; returns one line per mismatch.
pub fn check(expect: &Value, reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(s) = expect.get("status").and_then(Value::as_u64)
        && reply.status as u64 != s
    {
        problems.push(format!("status: expected {s}, got {}", reply.status));
    }
    if let Some(s) = expect.get("statusText").and_then(Value::as_str)
        && reply.reason != s
    {
        problems.push(format!(
            "statusText: expected {s:?}, got {:?}",
            reply.reason
        ));
    }
    if let Some(hs) = expect.get("headers").and_then(Value::as_object) {
        for (name, want) in hs {
            let got = reply.header_values(name);
            match want {
                Value::Null => {
                    if !got.is_empty() {
                        problems.push(format!("header {name}: expected absent, got {got:?}"));
                    }
                }
                Value::String(w) => {
                    let joined = got.join(", ");
                    if got.is_empty() || joined != *w {
                        problems.push(format!("header {name}: expected {w:?}, got {got:?}"));
                    }
                }
                Value::Array(ws) => {
                    let ws: Vec<&str> = ws.iter().filter_map(Value::as_str).collect();
                    if got != ws {
                        problems.push(format!(
                            "header {name}: expected values {ws:?}, got {got:?}"
                        ));
                    }
                }
                other => problems.push(format!("header {name}: unsupported expectation {other}")),
            }
        }
    }
    let text = reply.text();
    if let Some(b) = expect.get("body").and_then(Value::as_str)
        && text != b
    {
        problems.push(format!("body: expected {:?}", truncate(b, 600)));
    }
    if let Some(c) = expect.get("bodyContains") {
        let needles: Vec<&str> = match c {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        for n in needles {
            if !text.contains(n) {
                problems.push(format!("body: expected to contain {n:?}"));
            }
        }
    }
    if let Some(j) = expect.get("json") {
        match serde_json::from_slice::<Value>(&reply.body) {
            Ok(got) if got == *j => {}
            Ok(got) => problems.push(format!("json: expected {j}\n      got      {got}")),
            Err(e) => problems.push(format!("json: body is not JSON ({e})")),
        }
    }
    problems
}

/// One failure report line for a request.
pub fn mismatch(label: &str, problems: &[String], reply: &Reply) -> String {
    format!(
        "{label}:\n    {}\n    got {} {} {:?}\n    body: {}",
        problems.join("\n    "),
        reply.status,
        reply.reason,
        reply.headers,
        truncate(&reply.text(), 600)
    )
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}
