//! The engine: executor threads, worker isolates, limits and the public entry points.
mod types;

pub use types::*;

use std::sync::Arc;

/// A worker runtime. Cheap to clone; every clone drives the same executor threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<()>,
}

impl Engine {
    /// Starts `config.pool_size` executor threads. Workers are loaded through `loader` on first
    /// use (or from `compile_and_cache`).
    pub fn new(config: EngineConfig, loader: Arc<dyn SourceLoader>) -> Result<Engine, WorkerError> {
        let _ = (config, loader);
        todo!()
    }

    /// Runs the worker's fetch handler for `request`.
    pub async fn execute(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        request: WorkerRequest,
    ) -> ExecuteResult {
        let _ = (site_id, deploy_key, env, request, &self.inner);
        todo!()
    }

    /// Blocking form of [`Engine::execute`]; must not be called from inside an async runtime.
    pub fn execute_blocking(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        request: WorkerRequest,
    ) -> ExecuteResult {
        let _ = (site_id, deploy_key, env, request);
        todo!()
    }

    /// Calls the named export (a function, or a method of the default export) with
    /// `(env, ...args)` where `json_args` is a JSON array; returns the JSON of the awaited result.
    pub async fn execute_function(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        name: &str,
        json_args: &str,
    ) -> FunctionResult {
        let _ = (site_id, deploy_key, env, name, json_args);
        todo!()
    }

    /// Blocking form of [`Engine::execute_function`].
    pub fn execute_function_blocking(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        name: &str,
        json_args: &str,
    ) -> FunctionResult {
        let _ = (site_id, deploy_key, env, name, json_args);
        todo!()
    }

    /// Compiles `source` for (site, deploy), reporting syntax errors with file:line:col, and
    /// returns the main module's V8 code cache. Later requests for (site, deploy) use this
    /// source (instead of the loader) and its code cache; a resident isolate is replaced.
    pub fn compile_and_cache(
        &self,
        site_id: &str,
        deploy_key: &str,
        source: WorkerSource,
    ) -> Result<Vec<u8>, WorkerError> {
        let _ = (site_id, deploy_key, source);
        todo!()
    }

    /// Stops accepting work, lets in-flight requests and `waitUntil` work finish, and joins the
    /// executor threads. Later calls fail with `ErrorKind::Internal`.
    pub fn shutdown(&self) {
        todo!()
    }
}
