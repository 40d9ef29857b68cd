//! What `wk` prints: console logs, worker errors, and the error pages clients receive.
use std::io::Write;
use std::path::Path;

use worker_core::{ErrorKind, LogEntry, LogLevel, WorkerError};

/// Console output of one invocation. `log`/`info`/`debug` go to stdout unchanged, so a worker's
/// output can be piped like a program's; `warn` and `error` go to stderr with their level, the
/// way a terminal user tells them apart at a glance.
pub fn print_logs(logs: &[LogEntry]) {
    if logs.is_empty() {
        return;
    }
    let out = std::io::stdout();
    let err = std::io::stderr();
    let mut out = out.lock();
    let mut err = err.lock();
    for l in logs {
        // A closed pipe must not take the server down, so write errors are ignored.
        let _ = match l.level {
            LogLevel::Warn | LogLevel::Error => {
                writeln!(err, "[{}] {}", l.level.as_str(), l.message)
            }
            _ => writeln!(out, "{}", l.message),
        };
    }
    let _ = out.flush();
}

/// The error with its JS stack, on stderr. `file:line:col` locations name modules relative to
/// the project; `dir` turns them back into paths the user can open.
pub fn print_error(e: &WorkerError, dir: &Path) {
    let mut text = String::new();
    let headline = e.to_string();
    text.push_str(&format!("error: {}", localize(&headline, dir)));
    // V8 stacks begin with "Name: message", which the headline already says.
    let stack_body: Vec<&str> = e
        .stack
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("at "))
        .collect();
    // Frames inside the runtime's own JS say nothing about the user's bug.
    for l in stack_body
        .into_iter()
        .filter(|l| !l.contains("wk:internal/"))
    {
        text.push('\n');
        text.push_str(&localize(l, dir));
    }
    eprintln!("{text}");
}

/// Rewrites a leading module name in `file:line:col` references into a path under `dir`.
fn localize(s: &str, dir: &Path) -> String {
    if dir.as_os_str().is_empty() || dir == Path::new(".") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    // References appear as `(name:1:2)`, ` at name:1:2` or at the start of the text.
    while let Some(i) = rest.find(['(', ' ']) {
        let (head, tail) = rest.split_at(i + 1);
        out.push_str(head);
        rest = tail;
        let end = rest.find([')', ' ', '(']).unwrap_or(rest.len());
        let token = &rest[..end];
        if looks_like_location(token, dir) {
            out.push_str(&dir.join(token).display().to_string());
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// A `file:line:col` whose file is one of the project's (engine-internal frames such as
/// `wk:internal/streams.js` stay as they are).
fn looks_like_location(token: &str, dir: &Path) -> bool {
    let mut parts = token.rsplitn(3, ':');
    let (Some(col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !file.is_empty()
        && !file.contains("://")
        && !file.starts_with('/')
        && !file.starts_with('<')
        && line.chars().all(|c| c.is_ascii_digit())
        && col.chars().all(|c| c.is_ascii_digit())
        && !line.is_empty()
        && !col.is_empty()
        && dir.join(file).is_file()
}

/// The plain-text body Cloudflare-style clients see when a worker fails: the error page number
/// first (1101 for exceptions, 1102 for resource limits), then what went wrong.
pub fn error_page(e: &WorkerError) -> String {
    let head = match e.kind {
        ErrorKind::Exception | ErrorKind::Script | ErrorKind::BadHandler => {
            "Error 1101: Worker threw exception"
        }
        ErrorKind::ExceededCpu
        | ErrorKind::ExceededMemory
        | ErrorKind::ExceededWallTime
        | ErrorKind::ExceededResponseSize => "Error 1102: Worker exceeded resource limits",
        ErrorKind::ScriptNotFound | ErrorKind::Internal => "Internal Server Error",
    };
    let mut detail = String::new();
    if !e.name.is_empty() {
        detail.push_str(&e.name);
        detail.push_str(": ");
    }
    detail.push_str(&e.message);
    format!("{head}\n\n{detail}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_become_paths() {
        let tmp = std::env::temp_dir().join(format!("wk-localize-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("src")).unwrap();
        std::fs::write(tmp.join("src/a.js"), "").unwrap();
        std::fs::write(tmp.join("w.js"), "").unwrap();
        let p = tmp.display().to_string();
        let dir = tmp.as_path();
        assert_eq!(
            localize("    at Object.fetch (src/a.js:3:9)", dir),
            format!("    at Object.fetch ({p}/src/a.js:3:9)")
        );
        assert_eq!(
            localize("SyntaxError: x (w.js:1:2)", dir),
            format!("SyntaxError: x ({p}/w.js:1:2)")
        );
        assert_eq!(
            localize("    at w.js:1:2", dir),
            format!("    at {p}/w.js:1:2")
        );
        assert_eq!(localize("see http://a:1:2 ok", dir), "see http://a:1:2 ok");
        assert_eq!(localize("ratio a:b:c", dir), "ratio a:b:c");
        assert_eq!(
            localize("    at new X (wk:internal/streams.js:90:15)", dir),
            "    at new X (wk:internal/streams.js:90:15)"
        );
        assert_eq!(
            localize("    at (other.js:1:1)", dir),
            "    at (other.js:1:1)"
        );
        std::fs::remove_dir_all(tmp).unwrap();
    }

    #[test]
    fn pages() {
        let mut e = WorkerError::new(ErrorKind::Exception, "boom");
        e.name = "Error".into();
        assert_eq!(
            error_page(&e),
            "Error 1101: Worker threw exception\n\nError: boom\n"
        );
        let e = WorkerError::new(ErrorKind::ExceededCpu, "Worker exceeded CPU time limit.");
        assert!(error_page(&e).starts_with("Error 1102"));
    }
}
