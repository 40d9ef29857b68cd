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
use worker_core::assets::AssetsRouter;
use worker_core::stores::{
    AssetsOptions, DirAssets, FsR2, QueueBroker, QueueConsumer, SqliteD1, SqliteKv, SqliteQueue,
};
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
    for (binding, id) in &project.bindings.kv_namespaces {
        let path = state.join("kv").join(format!("{}.sqlite", file_name(id)));
        let store =
            SqliteKv::open(&path).map_err(|e| format!("KV namespace {binding} (id {id}): {e}"))?;
        env.kv.insert(binding.clone(), Arc::new(store));
    }
    for (binding, id) in &project.bindings.d1_databases {
        let path = state.join("d1").join(format!("{}.sqlite", file_name(id)));
        // dump() fails as it does on Cloudflare for every database but the retired alpha ones.
        let db = SqliteD1::open(&path)
            .map_err(|e| format!("D1 database {binding} (id {id}): {e}"))?
            .with_dump(false);
        env.d1.insert(binding.clone(), Arc::new(db));
    }
    if let Some(binding) = project
        .bindings
        .assets
        .as_ref()
        .and_then(|a| a.binding.clone())
        && let Some(assets) = assets_of(project)?
    {
        env.assets.insert(binding, Arc::new(assets));
    }
    for p in &project.bindings.queues.producers {
        let queue = SqliteQueue::open(queue_file(&state, &p.queue))
            .map_err(|e| format!("queue {} (binding {}): {e}", p.queue, p.binding))?
            .with_delivery_delay(p.delivery_delay.unwrap_or(0));
        env.queues.insert(p.binding.clone(), Arc::new(queue));
    }
    for (binding, bucket) in &project.bindings.r2_buckets {
        let dir = state.join("r2").join(file_name(bucket));
        let store = FsR2::open(&dir).map_err(|e| format!("R2 bucket {binding} ({bucket}): {e}"))?;
        env.r2.insert(binding.clone(), Arc::new(store));
    }
    Ok(Arc::new(env))
}

/// The project's static assets, served from their directory (read live, so edits show at
/// once), or None without an `assets` section.
pub fn assets_of(project: &project::Project) -> Result<Option<DirAssets>, String> {
    let Some(a) = &project.bindings.assets else {
        return Ok(None);
    };
    let options = AssetsOptions {
        html_handling: a.html_handling,
        not_found_handling: a.not_found_handling,
    };
    DirAssets::new(&a.directory, options).map(Some)
}

/// How requests from outside are split between the assets and the worker.
pub fn assets_router(project: &project::Project) -> AssetsRouter {
    let flags = &project.compatibility_flags;
    // `assets_navigation_prefers_asset_serving` is on by default from 2025-04-01.
    let navigation = if flags.iter().any(|f| f == "assets_navigation_has_no_effect") {
        false
    } else {
        flags
            .iter()
            .any(|f| f == "assets_navigation_prefers_asset_serving")
            || project
                .compatibility_date
                .as_deref()
                .is_some_and(|d| d >= "2025-04-01")
    };
    AssetsRouter {
        run_worker_first: project
            .bindings
            .assets
            .as_ref()
            .map(|a| a.run_worker_first.clone())
            .unwrap_or_default(),
        has_worker: project.has_worker,
        navigation_prefers_assets: navigation,
    }
}

/// The embedded queue named `queue` under the state directory.
fn queue_file(state: &std::path::Path, queue: &str) -> PathBuf {
    state
        .join("queues")
        .join(format!("{}.sqlite", file_name(queue)))
}

/// Starts delivering the queues the project consumes (`queues.consumers`) to its worker, or
/// returns None when it consumes none. Shut the broker down before the engine.
pub fn start_queue_broker(
    engine: &Engine,
    project: &project::Project,
    args: &WorkerArgs,
    env: &Arc<Env>,
    quiet: bool,
) -> Result<Option<QueueBroker>, String> {
    if project.bindings.queues.consumers.is_empty() {
        return Ok(None);
    }
    let state = args
        .state_dir
        .clone()
        .unwrap_or_else(|| project.dir.join(".wk-state"));
    let open = |name: &str| {
        SqliteQueue::open(queue_file(&state, name)).map_err(|e| format!("queue {name}: {e}"))
    };
    let broker = QueueBroker::new(engine.clone())?;
    let dir = project_dir(project);
    broker.set_observer(move |event| queue_event(event, &dir, quiet));
    for c in &project.bindings.queues.consumers {
        let mut consumer = QueueConsumer::new(
            &c.queue,
            open(&c.queue)?,
            &project.name,
            DEPLOY_KEY,
            env.clone(),
        );
        if let Some(n) = c.max_batch_size {
            consumer.max_batch_size = n.clamp(1, 100) as usize;
        }
        if let Some(t) = c.max_batch_timeout {
            consumer.max_batch_timeout = std::time::Duration::from_secs_f64(t.min(60.0));
        }
        if let Some(n) = c.max_retries {
            consumer.max_retries = n.min(100);
        }
        if let Some(d) = c.retry_delay {
            consumer.retry_delay = d;
        }
        if let Some(dlq) = &c.dead_letter_queue {
            consumer.dead_letter_queue = Some((dlq.clone(), open(dlq)?));
        }
        broker.consume(consumer)?;
    }
    Ok(Some(broker))
}

/// Prints what the queue broker did, the way requests are printed.
fn queue_event(event: &worker_core::stores::BrokerEvent, dir: &std::path::Path, quiet: bool) {
    use worker_core::queue::QueueOutcome;
    use worker_core::stores::BrokerEvent;
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
