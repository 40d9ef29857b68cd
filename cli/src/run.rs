//! `wk run`: one request, the response on stdout (status line, headers, blank line, body),
//! console output and errors on stderr. Exit status 0 when the worker produced a response, 1
//! when it failed, so shell scripts can branch on it.
use std::io::Write;
use std::process::ExitCode;

use worker_core::WorkerRequest;

use crate::{RunArgs, output};

pub fn main(args: RunArgs) -> Result<ExitCode, String> {
    let project = crate::load_project(&args.worker)?;
    crate::announce(&project);
    let dir = crate::project_dir(&project);

    let body = match &args.data {
        Some(d) => match d.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| format!("--data @{path}: {e}"))?,
            None => d.clone().into_bytes(),
        },
        None => Vec::new(),
    };
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if args.data.is_some() { "POST" } else { "GET" }.into())
        .to_ascii_uppercase();
    let mut headers = Vec::new();
    for h in &args.headers {
        let Some((k, v)) = h.split_once(':') else {
            return Err(format!("-H {h:?}: expected `Name: value`"));
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let url = if args.url.contains("://") {
        args.url.clone()
    } else {
        // Accept `/path?q` as shorthand for a URL on localhost.
        format!(
            "http://localhost{}{}",
            if args.url.starts_with('/') { "" } else { "/" },
            args.url
        )
    };

    let (engine, project) = crate::start_project(&args.engine, project, &args.worker, true)?;
    let request = WorkerRequest {
        method,
        url,
        headers,
        body,
    };
    // Static assets answer first where Cloudflare would let them, as in `wk serve`.
    let result = project.fetch_blocking(request);
    project.close();
    engine.shutdown();

    // Console output goes to stderr here so stdout is exactly the response.
    for l in &result.logs {
        match l.level {
            worker_core::LogLevel::Warn | worker_core::LogLevel::Error => {
                eprintln!("[{}] {}", l.level.as_str(), l.message)
            }
            _ => eprintln!("{}", l.message),
        }
    }
    if let Some(e) = &result.error {
        output::print_error(e, &dir);
        return Ok(ExitCode::FAILURE);
    }

    let mut out = std::io::stdout().lock();
    let reason = if result.status_text.is_empty() {
        hyper::StatusCode::from_u16(result.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("")
            .to_string()
    } else {
        result.status_text.clone()
    };
    let mut head = format!("HTTP/1.1 {} {}\n", result.status, reason);
    for (k, v) in &result.headers {
        head.push_str(&format!("{k}: {v}\n"));
    }
    head.push('\n');
    let written = out
        .write_all(head.as_bytes())
        .and_then(|()| out.write_all(&result.body))
        .and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(format!("stdout: {e}"));
    }
    Ok(ExitCode::SUCCESS)
}
