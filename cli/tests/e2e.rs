//! End-to-end behaviour of the `wk` command that the conformance corpus cannot express:
//! process exit codes, stderr diagnostics, signals and connection handling.
mod common;

use std::io::{Read, Write};
use std::process::{Command, Output};
use std::time::Duration;

use common::{Conn, Server, TempDir, WK, request, runtime};

const HELLO: &str = r#"export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/slow") {
      await new Promise((r) => setTimeout(r, 1000));
      return new Response("slow done");
    }
    if (url.pathname === "/throw") {
      throw new Error("kaboom in handler");
    }
    if (url.pathname === "/echo") {
      return new Response(`${request.method} ${request.headers.get("x-test")} ${await request.text()}`);
    }
    console.log("handled", url.pathname);
    return new Response(`hello ${url.pathname}${url.search}`, { headers: { "x-worker": "yes" } });
  },
};
"#;

fn wk(args: &[&str], cwd: Option<&std::path::Path>) -> Output {
    let mut c = Command::new(WK);
    c.args(args);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.output().expect("run wk")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_prints_status_headers_and_body() {
    let dir = TempDir::new("run");
    let script = dir.write("worker.js", HELLO);
    let out = wk(
        &[
            "run",
            script.to_str().unwrap(),
            "--url",
            "http://example.com/a?b=1",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{}",
        out.status,
        text(&out.stderr)
    );
    assert!(stdout.starts_with("HTTP/1.1 200 OK\n"), "{stdout}");
    assert!(stdout.contains("x-worker: yes\n"), "{stdout}");
    assert!(stdout.ends_with("\n\nhello /a?b=1"), "{stdout}");
    // Console output goes to stderr, keeping stdout exactly the response.
    assert!(
        text(&out.stderr).contains("handled /a"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_sends_method_headers_and_data() {
    let dir = TempDir::new("run-data");
    let script = dir.write("worker.js", HELLO);
    let out = wk(
        &[
            "run",
            script.to_str().unwrap(),
            "--url",
            "/echo",
            "--data",
            "payload",
            "-H",
            "X-Test: header value",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("\n\nPOST header value payload"),
        "{}",
        text(&out.stdout)
    );
    let out = wk(
        &[
            "run",
            script.to_str().unwrap(),
            "--url",
            "/echo",
            "-X",
            "put",
            "--data",
            "x",
        ],
        None,
    );
    assert!(
        text(&out.stdout).ends_with("PUT null x"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn run_reports_uncaught_exception_and_exits_1() {
    let dir = TempDir::new("run-throw");
    let script = dir.write("worker.js", HELLO);
    let out = wk(
        &["run", script.to_str().unwrap(), "--url", "http://x/throw"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("kaboom in handler"), "{err}");
    // The JS stack points into the user's file.
    assert!(err.contains("worker.js:9:"), "{err}");
}

#[test]
fn syntax_error_reports_file_line_col() {
    let dir = TempDir::new("syntax");
    let script = dir.write(
        "bad.js",
        "export default {\n  async fetch(request) {\n    return new Response(\"x\";\n  },\n};\n",
    );
    for cmd in ["run", "check"] {
        let out = wk(&[cmd, script.to_str().unwrap()], None);
        assert!(!out.status.success(), "wk {cmd} accepted a syntax error");
        let err = text(&out.stderr);
        assert!(err.contains("SyntaxError"), "wk {cmd}: {err}");
        let loc = err
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .find(|t| t.contains("bad.js:"))
            .unwrap_or_else(|| panic!("wk {cmd}: no bad.js location in {err}"));
        let mut parts = loc.rsplitn(3, ':');
        let (col, line) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!(line, "3", "wk {cmd}: {err}");
        assert!(col.parse::<u32>().is_ok(), "wk {cmd}: {err}");
    }
    // A server must refuse to start rather than serve a broken worker.
    let res = Server::start(&[script.to_str().unwrap()], None);
    let err = res.err().expect("wk serve started with a syntax error");
    assert!(err.contains("bad.js:3:"), "{err}");
}

#[test]
fn check_accepts_a_good_worker() {
    let dir = TempDir::new("check");
    let script = dir.write("worker.js", HELLO);
    let out = wk(&["check", script.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok: "));
}

#[test]
fn serve_warns_about_unsupported_bindings_by_name() {
    let dir = TempDir::new("bindings");
    dir.write("src/index.js", HELLO);
    let cfg = dir.write(
        "wrangler.jsonc",
        r#"{
  // a config with bindings wk does not provide yet
  "name": "bindings",
  "main": "src/index.js",
  "compatibility_date": "2025-01-01",
  "compatibility_flags": ["nodejs_compat"],
  "vectorize": [{ "binding": "MY_INDEX", "index_name": "abc" }],
  "d1_databases": [{ "binding": "DB", "database_name": "db", "database_id": "x" }],
  "durable_objects": { "bindings": [{ "name": "ROOMS", "class_name": "Room" }] },
  "vars": { "A": "1" },
}"#,
    );
    let server = Server::start(&["--config", cfg.to_str().unwrap()], None).unwrap();
    let rt = runtime();
    let reply = rt
        .block_on(request(server.addr, "GET", "/x", &[], None))
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello /x");
    let out = server.output();
    assert!(
        out.contains(
            "warning: binding type `vectorize` (MY_INDEX) is not supported yet; it is not available in env"
        ),
        "{out}"
    );
    assert!(out.contains("`d1_databases` (DB)"), "{out}");
    assert!(out.contains("`durable_objects` (ROOMS)"), "{out}");
    assert!(out.contains("nodejs_compat"), "{out}");
}

#[test]
fn serve_finds_wrangler_toml_in_current_dir() {
    let dir = TempDir::new("toml");
    dir.write("w.js", HELLO.replace("hello ", "toml ").as_str());
    dir.write(
        "wrangler.toml",
        "name = \"t\"\nmain = \"w.js\"\n[vars]\nGREETING = \"hi\"\n",
    );
    let server = Server::start(&[], Some(&dir.0)).unwrap();
    let rt = runtime();
    let reply = rt
        .block_on(request(server.addr, "GET", "/", &[], None))
        .unwrap();
    assert_eq!(reply.text(), "toml /");
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_0() {
    let dir = TempDir::new("sigterm");
    let script = dir.write("worker.js", HELLO);
    let mut server = Server::start(&[script.to_str().unwrap()], None).unwrap();
    let addr = server.addr;
    let rt = runtime();
    let slow =
        std::thread::spawn(move || runtime().block_on(request(addr, "GET", "/slow", &[], None)));
    // Let the slow request reach the worker before the signal.
    std::thread::sleep(Duration::from_millis(400));
    let status = server.terminate().unwrap();
    assert!(
        status.success(),
        "exit status {status}\n{}",
        server.output()
    );
    let reply = slow.join().unwrap().expect("in-flight request was dropped");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "slow done");
    // The listener is closed afterwards.
    assert!(rt.block_on(request(addr, "GET", "/", &[], None)).is_err());
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let dir = TempDir::new("keepalive");
    let script = dir.write("worker.js", HELLO);
    let server = Server::start(&[script.to_str().unwrap()], None).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let mut conn = Conn::open(server.addr).await.unwrap();
        for i in 0..10 {
            let path = format!("/n{i}");
            let reply = conn.send("GET", &path, &[], None).await.unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.text(), format!("hello {path}"));
            assert!(reply.header_values("connection").is_empty());
            assert!(
                !conn.is_closed(),
                "server closed the connection after request {i}"
            );
        }
        // POST bodies on the same connection too.
        let reply = conn
            .send("POST", "/echo", &[], Some(b"body".to_vec()))
            .await
            .unwrap();
        assert_eq!(reply.text(), "POST null body");
    });
}

#[test]
fn uncaught_exception_is_a_1101_page_with_stack_on_stderr() {
    let dir = TempDir::new("throw");
    let script = dir.write("worker.js", HELLO);
    let server = Server::start(&[script.to_str().unwrap()], None).unwrap();
    let rt = runtime();
    let reply = rt
        .block_on(request(server.addr, "GET", "/throw", &[], None))
        .unwrap();
    assert_eq!(reply.status, 500);
    let body = reply.text();
    assert!(
        body.starts_with("Error 1101: Worker threw exception"),
        "{body}"
    );
    assert!(body.contains("Error: kaboom in handler"), "{body}");
    // The next request is unaffected.
    let reply = rt
        .block_on(request(server.addr, "GET", "/ok", &[], None))
        .unwrap();
    assert_eq!(reply.status, 200);
    let out = server.output();
    assert!(out.contains("kaboom in handler"), "{out}");
    assert!(out.contains("worker.js:9:"), "stack missing: {out}");
}

#[test]
fn oversized_body_is_refused_with_413() {
    let dir = TempDir::new("413");
    let script = dir.write("worker.js", HELLO);
    let server = Server::start(&[script.to_str().unwrap()], None).unwrap();
    // A raw socket lets the request announce a length the client never has to send.
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap();
    let head = text(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}

#[test]
fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = TempDir::new("port");
    let script = dir.write("worker.js", HELLO);
    let mut child = Command::new(WK)
        .args(["serve", script.to_str().unwrap(), "--port", &port])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded wait: a server that did start must not outlive the test.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wk serve kept running on a port in use");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success());
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn cpu_limit_is_a_1102_page_and_the_server_recovers() {
    let dir = TempDir::new("cpu");
    let script = dir.write(
        "worker.js",
        "export default {\n  fetch(request) {\n    if (new URL(request.url).pathname === '/spin') { while (true) {} }\n    return new Response('fine');\n  },\n};\n",
    );
    let server = Server::start(&[script.to_str().unwrap(), "--cpu-ms", "100"], None).unwrap();
    let rt = runtime();
    let reply = rt
        .block_on(request(server.addr, "GET", "/spin", &[], None))
        .unwrap();
    assert_eq!(reply.status, 500);
    assert!(
        reply
            .text()
            .starts_with("Error 1102: Worker exceeded resource limits"),
        "{}",
        reply.text()
    );
    let reply = rt
        .block_on(request(server.addr, "GET", "/", &[], None))
        .unwrap();
    assert_eq!((reply.status, reply.text().as_str()), (200, "fine"));
}

#[test]
fn kv_data_survives_a_restart_in_the_state_dir() {
    let dir = TempDir::new("kv-restart");
    dir.write(
        "src/index.js",
        r#"export default {
  async fetch(request, env) {
    const key = new URL(request.url).pathname.slice(1);
    if (request.method === "PUT") {
      await env.NOTES.put(key, await request.text(), { metadata: { v: 1 } });
      return new Response("stored");
    }
    const { value, metadata } = await env.NOTES.getWithMetadata(key);
    return Response.json({ value, metadata });
  },
};"#,
    );
    let cfg = dir.write(
        "wrangler.jsonc",
        r#"{ "name": "kv", "main": "src/index.js", "kv_namespaces": [{ "binding": "NOTES", "id": "n1" }] }"#,
    );
    let args = ["--config", cfg.to_str().unwrap()];
    let rt = runtime();

    let server = Server::start(&args, None).unwrap();
    let put = rt
        .block_on(request(
            server.addr,
            "PUT",
            "/greeting",
            &[],
            Some(b"hi there".to_vec()),
        ))
        .unwrap();
    assert_eq!(put.text(), "stored");
    drop(server);

    // The default state directory sits beside the config.
    assert!(dir.0.join(".wk-state/kv/n1.sqlite").is_file());
    let server = Server::start(&args, None).unwrap();
    let got = rt
        .block_on(request(server.addr, "GET", "/greeting", &[], None))
        .unwrap();
    assert_eq!(got.text(), r#"{"value":"hi there","metadata":{"v":1}}"#);
}
