//! `wk serve`: an HTTP/1.1 front (hyper 1) that hands each request to the engine.
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use worker_core::WorkerRequest;
use worker_core::project::Project;

use crate::{ServeArgs, output};

/// Cloudflare's default request body limit (plans go higher; this is the free-plan figure).
pub const MAX_BODY_BYTES: usize = 100 << 20;

/// How long a graceful stop waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

struct State {
    project: Arc<Project>,
    local: SocketAddr,
    dir: std::path::PathBuf,
    quiet: bool,
}

pub fn main(args: ServeArgs) -> Result<ExitCode, String> {
    let spec = crate::load_project(&args.worker)?;
    crate::announce(&spec);
    crate::describe(&spec);
    let dir = crate::project_dir(&spec);
    let (engine, project) = crate::start_project(&args.engine, spec, &args.worker, args.quiet)?;
    let project = Arc::new(project);

    // The HTTP side only parses and copies bytes; the JavaScript runs on the engine's own
    // executor threads, so two I/O threads are plenty.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let state = State {
        project: project.clone(),
        local: SocketAddr::new(args.ip, args.port),
        dir,
        quiet: args.quiet,
    };
    let served = rt.block_on(run_server(state, args.ip, args.port));
    // Queue batches in flight finish before the engine stops.
    project.close();
    // Drain the engine (waitUntil work included) off the async runtime: shutdown blocks.
    engine.shutdown();
    served.map(|()| ExitCode::SUCCESS)
}

async fn run_server(mut state: State, ip: std::net::IpAddr, port: u16) -> Result<(), String> {
    let listener = TcpListener::bind((ip, port))
        .await
        .map_err(|e| format!("cannot listen on {ip}:{port}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    state.local = local;
    let state = Arc::new(state);
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }

    let graceful = GracefulShutdown::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Running out of file descriptors is transient: back off, keep serving.
                        eprintln!("warning: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(&state, peer, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    // Clients resetting connections is ordinary; nothing to report.
                    let _ = conn.await;
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    eprintln!("shutting down (a second signal stops immediately)");
    // A request stuck in a long wait should not hold a developer's terminal hostage.
    tokio::spawn(async {
        shutdown_signal().await;
        eprintln!("stopping without waiting for in-flight requests");
        std::process::exit(130);
    });
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("warning: in-flight requests did not finish within {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn text_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    res
}

async fn handle(state: &State, peer: SocketAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.to_string();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());

    // Workers always see an absolute URL. Clients send origin-form targets, so the authority
    // comes from Host (or, without one, the address we listen on).
    let url = if parts.uri.scheme().is_some() && parts.uri.authority().is_some() {
        parts.uri.to_string()
    } else {
        let host = parts
            .headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| state.local.to_string());
        format!("http://{host}{path}")
    };

    let declared_len = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return too_large();
            }
            return text_response(StatusCode::BAD_REQUEST, format!("Bad Request: {e}\n"));
        }
    };

    let mut headers: Vec<(String, String)> = Vec::with_capacity(parts.headers.len() + 1);
    for (name, value) in &parts.headers {
        headers.push((
            name.as_str().to_string(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        ));
    }
    // Cloudflare's edge tells workers who is calling; code that reads it should work locally.
    if !parts.headers.contains_key("cf-connecting-ip") {
        headers.push(("cf-connecting-ip".into(), peer.ip().to_string()));
    }

    let request = WorkerRequest {
        method: method.clone(),
        url,
        headers,
        body,
    };
    let result = state.project.fetch(request).await;
    output::print_logs(&result.logs);

    let response = match &result.error {
        Some(e) => {
            output::print_error(e, &state.dir);
            text_response(StatusCode::INTERNAL_SERVER_ERROR, output::error_page(e))
        }
        None => build_response(
            &method,
            result.status,
            &result.status_text,
            &result.headers,
            result.body,
        ),
    };
    log_request(state, &method, &path, &response, started);
    response
}

fn log_request(
    state: &State,
    method: &str,
    path: &str,
    response: &Response<Full<Bytes>>,
    started: Instant,
) {
    if !state.quiet {
        let status = response.status();
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| status.canonical_reason().map(str::to_string))
            .unwrap_or_default();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{method} {path} {} {reason} ({:.1}ms)",
            status.as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

fn too_large() -> Response<Full<Bytes>> {
    text_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Payload Too Large: request bodies are limited to {MAX_BODY_BYTES} bytes\n"),
    )
}

/// Headers that describe one hop's connection rather than the response; hyper writes its own.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
    )
}

fn build_response(
    method: &str,
    status: u16,
    status_text: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let Ok(status) = StatusCode::from_u16(status) else {
        return text_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Internal Server Error: the worker returned status {status}\n"),
        );
    };
    let body_empty = body.is_empty();
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    // Only a non-standard phrase needs carrying; hyper writes the canonical one itself.
    if !status_text.is_empty()
        && Some(status_text) != status.canonical_reason()
        && let Ok(r) = hyper::ext::ReasonPhrase::try_from(status_text.as_bytes().to_vec())
    {
        res.extensions_mut().insert(r);
    }
    let map = res.headers_mut();
    for (k, v) in headers {
        let lower = k.to_ascii_lowercase();
        if is_hop_by_hop(&lower) {
            continue;
        }
        // hyper derives Content-Length from the body we hand it; a stale value from the worker
        // would corrupt the connection. A HEAD response has no body to derive it from, so
        // there the worker's value is the truth.
        if lower == "content-length" && !(method == "HEAD" && body_empty) {
            continue;
        }
        match (
            HeaderName::from_bytes(lower.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            (Ok(n), Ok(v)) => {
                map.append(n, v);
            }
            _ => eprintln!("warning: dropping response header {k:?} with an invalid name or value"),
        }
    }
    res
}
