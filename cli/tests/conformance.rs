//! Runs the HTTP conformance corpus in `tests/conformance/` against `wk serve`.
//!
//! Each case directory gets its own server on a free loopback port; its requests go over one
//! keep-alive connection in file order. Every mismatch is collected, and the test fails at the
//! end listing all of them with the server's output, so one run shows the whole picture.
//! `WK_CONFORMANCE=case_a,case_b` limits the run to the named cases.
mod common;
#[path = "../../tests/conformance/harness.rs"]
mod harness;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use common::{Conn, Reply, Server};
use harness::{case_dirs, check, truncate};

/// `wk serve` arguments for a case: its wrangler config when it has one, else the script, and
/// a state directory of its own.
fn serve_args(dir: &Path, state: &Path) -> Vec<String> {
    let mut args = Vec::new();
    match harness::config_file(dir) {
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
        let requests = match harness::requests(dir) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{case}: {e}"));
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
                let reply = harness::Reply {
                    status: reply.status,
                    reason: reply.reason,
                    headers: reply.headers,
                    body: reply.body,
                };
                let problems = check(&r["expect"], &reply);
                if problems.is_empty() {
                    passed += 1;
                } else {
                    case_failures.push(harness::mismatch(&label, &problems, &reply));
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

async fn send(
    conn: &mut Option<Conn>,
    addr: std::net::SocketAddr,
    r: &Value,
) -> Result<Reply, String> {
    let method = r["method"].as_str().unwrap_or("GET");
    let path = r["path"].as_str().unwrap_or("/");
    let headers = harness::request_headers(r)?;
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
