//! `wk`: run Cloudflare-style workers locally on libworker.
//!
//! - `wk serve [script] [--config wrangler.jsonc]` serves a worker over HTTP/1.1 like
//!   `wrangler dev`.
//! - `wk run script [--url ...]` sends one request and prints the response, for scripts and CI.
//! - `wk check script` compiles a worker and reports syntax errors without running it.
mod output;
mod run;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use worker_core::project::{DEPLOY_KEY, Project, ProjectOptions, ProjectSpec, config, spec};
use worker_core::stores::BrokerEvent;
use worker_core::{Engine, EngineConfig, WorkerSource};

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
pub fn load_project(args: &WorkerArgs) -> Result<ProjectSpec, String> {
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
    let mut project = spec::load(cfg, args.script.as_deref())?;
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
pub fn announce(project: &ProjectSpec) {
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
pub fn describe(project: &ProjectSpec) {
    if let Some(a) = &project.bindings.assets {
        eprintln!("wk: static assets from {}", a.directory.display());
        if !project.has_worker {
            return;
        }
    }
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

/// Starts an engine with the CLI's limits. Workers come from the project (`start_project`,
/// or `compile_and_cache`), never from the loader.
pub fn start_engine(args: &EngineArgs) -> Result<Engine, String> {
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
    let loader = |site: &str, _: &str| -> Result<WorkerSource, String> {
        Err(format!("no worker named {site} in this project"))
    };
    Engine::new(config, Arc::new(loader)).map_err(|e| format!("engine: {e}"))
}

/// Starts the engine and the project in it: stores opened under the state directory, the
/// worker compiled (a syntax error is printed before anything is served) and queue consumers
/// running. Close the project before shutting the engine down.
pub fn start_project(
    engine_args: &EngineArgs,
    spec: ProjectSpec,
    worker: &WorkerArgs,
    quiet: bool,
) -> Result<(Engine, Project), String> {
    let dir = project_dir(&spec);
    let engine = start_engine(engine_args)?;
    let events_dir = dir.clone();
    let options = ProjectOptions {
        state_dir: worker.state_dir.clone(),
        on_queue_event: Some(Arc::new(move |e: &BrokerEvent| {
            queue_event(e, &events_dir, quiet)
        })),
        ..Default::default()
    };
    match Project::start(&engine, spec, options) {
        Ok(project) => Ok((engine, project)),
        Err(e) => {
            engine.shutdown();
            output::print_error(&e, &dir);
            Err("the project failed to start".into())
        }
    }
}

fn check(args: CheckArgs) -> Result<ExitCode, String> {
    let project = load_project(&args.worker)?;
    announce(&project);
    let engine = start_engine(&EngineArgs {
        memory_limit_mb: None,
        cpu_ms: None,
        wall_ms: None,
        threads: Some(1),
    })?;
    let compiled = engine.compile_and_cache(&project.name, DEPLOY_KEY, project.source.clone());
    engine.shutdown();
    if let Err(e) = compiled {
        output::print_error(&e, &project_dir(&project));
        return Err("the worker failed to load".into());
    }
    let n = project.source.modules.len();
    println!(
        "ok: {} ({n} module{})",
        project.main_path.display(),
        if n == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// The directory module names are relative to, for turning `file:line:col` into a path.
pub fn project_dir(project: &ProjectSpec) -> PathBuf {
    let mut dir = project.main_path.clone();
    // The main module's name has as many components as its path below the project dir.
    for _ in project.source.main_module.split('/') {
        dir.pop();
    }
    dir
}

/// Prints what the queue broker did, the way requests are printed.
fn queue_event(event: &BrokerEvent, dir: &std::path::Path, quiet: bool) {
    use worker_core::queue::QueueOutcome;
    match event {
        BrokerEvent::Delivered { queue, result, .. } => {
            output::print_logs(&result.logs);
            if let Some(e) = &result.error {
                output::print_error(e, dir);
            }
            if !quiet {
                let acked = result
                    .outcomes
                    .iter()
                    .filter(|o| **o == QueueOutcome::Ack)
                    .count();
                println!(
                    "QUEUE {queue} {} message(s): {acked} acked, {} retried ({:.1}ms)",
                    result.outcomes.len(),
                    result.outcomes.len() - acked,
                    result.duration.as_secs_f64() * 1000.0
                );
            }
        }
        BrokerEvent::DeadLettered {
            queue,
            dead_letter_queue,
            id,
        } => {
            eprintln!("queue {queue}: message {id} moved to dead-letter queue {dead_letter_queue}")
        }
        BrokerEvent::Dropped {
            queue,
            id,
            attempts,
        } => eprintln!(
            "warning: queue {queue}: message {id} dropped after {attempts} attempts (no dead_letter_queue)"
        ),
        BrokerEvent::StorageError { queue, message } => {
            eprintln!("warning: queue {queue}: {message}")
        }
    }
}
