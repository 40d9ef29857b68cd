//! `wk`: run Cloudflare-style workers locally on libworker.
//!
//! - `wk serve [script] [--config wrangler.jsonc]` serves a worker over HTTP/1.1 like
//!   `wrangler dev`.
//! - `wk run script [--url ...]` sends one request and prints the response, for scripts and CI.
//! - `wk check script` compiles a worker and reports syntax errors without running it.
mod config;
mod jsonc;
mod output;
mod project;
mod run;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use worker_core::stores::{FsR2, SqliteKv};
use worker_core::{Engine, EngineConfig, Env, WorkerSource};

#[derive(Parser)]
#[command(
    name = "wk",
    version,
    about = "Run Cloudflare-style workers locally on libworker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a worker over HTTP (like `wrangler dev`).
    Serve(ServeArgs),
    /// Send one request to a worker and print the response.
    Run(RunArgs),
    /// Compile a worker and report syntax errors, without running it.
    Check(CheckArgs),
}

/// Which worker to load.
#[derive(Args, Clone)]
pub struct WorkerArgs {
    /// The worker's main script. Without it, `--config` (or a wrangler config in the current
    /// directory) names it through `main`.
    pub script: Option<PathBuf>,
    /// A wrangler configuration: wrangler.jsonc, wrangler.json or wrangler.toml.
    #[arg(short = 'c', long)]
    pub config: Option<PathBuf>,
    /// Add or override a text var, as `KEY:VALUE` (repeatable).
    #[arg(long = "var", value_name = "KEY:VALUE")]
    pub vars: Vec<String>,
    /// Where bindings keep their local data (KV namespaces, ...), kept across runs
    /// [default: .wk-state beside the config, or beside the script without one].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Engine limits; unset flags keep the engine's defaults.
#[derive(Args, Clone)]
pub struct EngineArgs {
    /// Heap limit per worker isolate, in MiB.
    #[arg(long, value_name = "MB")]
    pub memory_limit_mb: Option<usize>,
    /// CPU time a request may use, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub cpu_ms: Option<u64>,
    /// Wall-clock time until a request must respond, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub wall_ms: Option<u64>,
    /// Executor threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Port to listen on (0 picks a free one; the chosen port is printed).
    #[arg(short, long, default_value_t = 8787)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub ip: std::net::IpAddr,
    /// Do not print a line per request (console output is still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// The request URL the worker sees.
    #[arg(long, default_value = "http://localhost/")]
    pub url: String,
    /// Request method (default GET, or POST when --data is given).
    #[arg(short = 'X', long)]
    pub method: Option<String>,
    /// Request body; `@path` reads it from a file.
    #[arg(short, long)]
    pub data: Option<String>,
    /// A request header, as `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub worker: WorkerArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve::main(a),
        Command::Run(a) => run::main(a),
        Command::Check(a) => check(a),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Finds the config and script the arguments name, and loads them.
pub fn load_project(args: &WorkerArgs) -> Result<project::Project, String> {
    let config_path = match (&args.config, &args.script) {
        (Some(c), _) => Some(c.clone()),
        // An explicit script runs on its own, without picking up a config by accident.
        (None, Some(_)) => None,
        (None, None) => {
            let cwd = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
            match config::find_in(&cwd) {
                Some(p) => Some(p),
                None => {
                    return Err(format!(
                        "no worker script given and no {} in {}",
                        config::CONFIG_NAMES.join(" / "),
                        cwd.display()
                    ));
                }
            }
        }
    };
    let cfg = config_path.as_deref().map(config::load).transpose()?;
    let mut project = project::load(cfg, args.script.as_deref())?;
    for kv in &args.vars {
        let Some((k, v)) = kv.split_once(':') else {
            return Err(format!("--var {kv}: expected KEY:VALUE"));
        };
        project.env.json.remove(k);
        project.env.vars.insert(k.to_string(), v.to_string());
    }
    Ok(project)
}

/// Prints the project's warnings and settings that have no effect yet, on stderr.
pub fn announce(project: &project::Project) {
    for w in &project.warnings {
        eprintln!("warning: {w}");
    }
    if !project.compatibility_flags.is_empty() {
        eprintln!(
            "note: compatibility_flags [{}] are recorded but not applied yet",
            project.compatibility_flags.join(", ")
        );
    }
}

/// One line on stderr describing what `wk serve` is about to serve.
pub fn describe(project: &project::Project) {
    let n = project.source.modules.len();
    let kind = match project.source.modules.first().map(|m| m.kind) {
        Some(worker_core::ModuleType::Script) => "service-worker script",
        _ => "ES modules",
    };
    let mut line = format!(
        "wk: worker `{}` from {} ({kind}, {n} module{})",
        project.name,
        project.main_path.display(),
        if n == 1 { "" } else { "s" }
    );
    if let Some(d) = &project.compatibility_date {
        line.push_str(&format!(", compatibility_date {d}"));
    }
    eprintln!("{line}");
}

/// The site id and deploy key the CLI's single worker runs under.
pub const DEPLOY_KEY: &str = "local";

/// Starts an engine that serves `source` for every (site, deploy), and compiles it once so a
/// syntax error is reported before anything is served.
pub fn start_engine(
    args: &EngineArgs,
    site: &str,
    source: WorkerSource,
    dir: &std::path::Path,
) -> Result<Engine, String> {
    let mut config = EngineConfig::default();
    if let Some(v) = args.memory_limit_mb {
        config.memory_limit_mb = v;
    }
    if let Some(v) = args.cpu_ms {
        config.cpu_time_ms = v;
    }
    if let Some(v) = args.wall_ms {
        config.wall_time_ms = v;
    }
    if let Some(v) = args.threads {
        config.pool_size = v.max(1);
    }
    let loader_source = source.clone();
    let loader =
        move |_: &str, _: &str| -> Result<WorkerSource, String> { Ok(loader_source.clone()) };
    let engine = Engine::new(config, Arc::new(loader)).map_err(|e| format!("engine: {e}"))?;
    if let Err(e) = engine.compile_and_cache(site, DEPLOY_KEY, source) {
        output::print_error(&e, dir);
        engine.shutdown();
        return Err("the worker failed to load".into());
    }
    Ok(engine)
}

fn check(args: CheckArgs) -> Result<ExitCode, String> {
    let project = load_project(&args.worker)?;
    announce(&project);
    let dir = project_dir(&project);
    let engine = start_engine(
        &EngineArgs {
            memory_limit_mb: None,
            cpu_ms: None,
            wall_ms: None,
            threads: Some(1),
        },
        &project.name,
        project.source.clone(),
        &dir,
    )?;
    engine.shutdown();
    println!(
        "ok: {} ({} module{})",
        project.main_path.display(),
        project.source.modules.len(),
        if project.source.modules.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The directory module names are relative to, for turning `file:line:col` into a path.
pub fn project_dir(project: &project::Project) -> PathBuf {
    let mut dir = project.main_path.clone();
    // The main module's name has as many components as its path below the project dir.
    for _ in project.source.main_module.split('/') {
        dir.pop();
    }
    dir
}

/// The worker's env, shared by every request: vars plus the embedded stores behind its
/// bindings, opened under the state directory.
pub fn env_of(project: &project::Project, args: &WorkerArgs) -> Result<Arc<Env>, String> {
    let state = args
        .state_dir
        .clone()
        .unwrap_or_else(|| project.dir.join(".wk-state"));
    let mut env = project.env.clone();
    for (binding, id) in &project.kv_namespaces {
        let path = state.join("kv").join(format!("{}.sqlite", file_name(id)));
        let store =
            SqliteKv::open(&path).map_err(|e| format!("KV namespace {binding} (id {id}): {e}"))?;
        env.kv.insert(binding.clone(), Arc::new(store));
    }
    for (binding, bucket) in &project.r2_buckets {
        let dir = state.join("r2").join(file_name(bucket));
        let store = FsR2::open(&dir).map_err(|e| format!("R2 bucket {binding} ({bucket}): {e}"))?;
        env.r2.insert(binding.clone(), Arc::new(store));
    }
    Ok(Arc::new(env))
}

/// A namespace id made safe as a file name; ids are usually hex or simple names already.
fn file_name(id: &str) -> String {
    id.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}
