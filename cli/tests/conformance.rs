//! Runs the HTTP conformance corpus in `tests/conformance/` against `wk serve`.
//!
//! Each case directory gets its own server on a free loopback port; its requests go over one
//! keep-alive connection in file order. Every mismatch is collected, and the test fails at the
//! end listing all of them with the server's output, so one run shows the whole picture.
//! `WK_CONFORMANCE=case_a,case_b` limits the run to the named cases.
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use common::{Conn, Reply, Server};

fn corpus_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    d.canonicalize().unwrap_or(d)
}

fn case_dirs() -> Vec<PathBuf> {
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

/// `wk serve` arguments for a case: its wrangler config when it has one, else the script, and
/// a state directory of its own.
fn serve_args(dir: &Path, state: &Path) -> Vec<String> {
    let mut args = Vec::new();
    match ["wrangler.jsonc", "wrangler.json", "wrangler.toml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
    {
        Some(cfg) => {
            args.push("--config".to_string());
            args.push(cfg.display().to_string());
        }
        None => args.push(dir.join("worker.js").display().to_string()),
    }
    args.extend(["--threads", "1", "--quiet", "--state-dir"].map(String::from));
    args.push(state.display().to_string());
    args
}

#[test]
fn conformance_corpus() {
    let cases = case_dirs();
    assert!(!cases.is_empty(), "no conformance cases found");
    let rt = common::runtime();
    let mut failures: Vec<String> = Vec::new();
    let mut passed = 0usize;
    let mut total = 0usize;

    for dir in &cases {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let requests: Vec<Value> = match std::fs::read_to_string(dir.join("requests.json"))
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{case}: requests.json: {e}"));
                continue;
            }
        };
        total += requests.len();
        // Each case starts from empty stores.
        let state =
            std::env::temp_dir().join(format!("wk-conformance-{}-{case}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        let args = serve_args(dir, &state);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = match Server::start(&args, None) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{case}: server did not start: {e}"));
                continue;
            }
        };
        let mut case_failures = Vec::new();
        rt.block_on(async {
            let mut conn: Option<Conn> = None;
            for r in &requests {
                let name = r["name"].as_str().unwrap_or("?").to_string();
                let label = format!("{case}/{name}");
                if let Some(ms) = r.get("delayMs").and_then(Value::as_u64) {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                let reply = match send(&mut conn, server.addr, r).await {
                    Ok(x) => x,
                    Err(e) => {
                        case_failures.push(format!("{label}: {e}"));
                        continue;
                    }
                };
                let problems = check(&r["expect"], &reply);
                if problems.is_empty() {
                    passed += 1;
                } else {
                    case_failures.push(format!(
                        "{label}:\n    {}\n    got {} {} {:?}\n    body: {}",
                        problems.join("\n    "),
                        reply.status,
                        reply.reason,
                        reply.headers,
                        truncate(&reply.text(), 600)
                    ));
                }
            }
        });
        if !case_failures.is_empty() {
            let out = server.output();
            failures.push(format!(
                "{}\n  --- server output ---\n  {}",
                case_failures.join("\n"),
                truncate(&out, 2000).replace('\n', "\n  ")
            ));
        }
        drop(server);
        let _ = std::fs::remove_dir_all(&state);
    }

    eprintln!(
        "conformance: {passed}/{total} requests passed in {} cases",
        cases.len()
    );
    if !failures.is_empty() {
        panic!(
            "{} conformance failure group(s):\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

async fn send(
    conn: &mut Option<Conn>,
    addr: std::net::SocketAddr,
    r: &Value,
) -> Result<Reply, String> {
    let method = r["method"].as_str().unwrap_or("GET");
    let path = r["path"].as_str().unwrap_or("/");
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
    let body = r["body"].as_str().map(|s| s.as_bytes().to_vec());
    // A server may close a keep-alive connection at any time (after an unread request body,
    // say), and the client can only notice when it tries to use it: retry once on a fresh
    // connection. Requests here are test requests, so a repeat is harmless.
    if conn.as_ref().is_none_or(Conn::is_closed) {
        *conn = Some(Conn::open(addr).await?);
    }
    match conn
        .as_mut()
        .unwrap()
        .send(method, path, &headers, body.clone())
        .await
    {
        Ok(r) => Ok(r),
        Err(e) if !e.starts_with("no response") => {
            *conn = Some(Conn::open(addr).await?);
            conn.as_mut()
                .unwrap()
                .send(method, path, &headers, body)
                .await
                .map_err(|e2| format!("{e2} (first attempt: {e})"))
        }
        Err(e) => Err(e),
    }
}

/// Compares a reply with an `expect` object; returns one line per mismatch.
fn check(expect: &Value, reply: &Reply) -> Vec<String> {
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
