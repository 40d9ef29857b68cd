//! The embedded stores as Python classes, to put behind a binding in `worker.Env`: they run
//! in Rust, so the worker's calls never take the GIL.
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use worker_core::stores::{
    AssetsOptions, DirAssets, FsR2, HtmlHandling, MemoryCache, NotFoundHandling, SqliteD1,
    SqliteKv, SqliteQueue,
};

/// A KV namespace in one SQLite file.
#[pyclass(name = "SqliteKv", module = "worker._worker", frozen)]
pub struct PySqliteKv(pub Arc<SqliteKv>);

#[pymethods]
impl PySqliteKv {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        SqliteKv::open(&path)
            .map(|s| Self(Arc::new(s)))
            .map_err(PyOSError::new_err)
    }
}

/// An R2 bucket: objects as files under a directory, with a SQLite index.
#[pyclass(name = "FsR2", module = "worker._worker", frozen)]
pub struct PyFsR2(pub Arc<FsR2>);

#[pymethods]
impl PyFsR2 {
    #[new]
    fn new(dir: PathBuf) -> PyResult<Self> {
        FsR2::open(&dir)
            .map(|s| Self(Arc::new(s)))
            .map_err(PyOSError::new_err)
    }
}

/// A D1 database in one SQLite file.
#[pyclass(name = "SqliteD1", module = "worker._worker", frozen)]
pub struct PySqliteD1(pub Arc<SqliteD1>);

#[pymethods]
impl PySqliteD1 {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        SqliteD1::open(&path)
            .map(|s| Self(Arc::new(s)))
            .map_err(PyOSError::new_err)
    }
}

/// An in-memory Cache API store of at most `max_bytes`, least recently used entries evicted.
#[pyclass(name = "MemoryCache", module = "worker._worker", frozen)]
pub struct PyMemoryCache(pub Arc<MemoryCache>);

#[pymethods]
impl PyMemoryCache {
    #[new]
    #[pyo3(signature = (max_bytes = worker_core::stores::DEFAULT_CACHE_BYTES))]
    fn new(max_bytes: usize) -> Self {
        Self(Arc::new(MemoryCache::new(max_bytes)))
    }
}

/// A directory served as static assets with Cloudflare's rules (`html_handling`:
/// "auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash" or "none";
/// `not_found_handling`: "none", "single-page-application" or "404-page").
#[pyclass(name = "DirAssets", module = "worker._worker", frozen)]
pub struct PyDirAssets(pub Arc<DirAssets>);

#[pymethods]
impl PyDirAssets {
    #[new]
    #[pyo3(signature = (dir, html_handling = "auto-trailing-slash", not_found_handling = "none"))]
    fn new(dir: PathBuf, html_handling: &str, not_found_handling: &str) -> PyResult<Self> {
        let options = AssetsOptions {
            html_handling: HtmlHandling::parse(html_handling).ok_or_else(|| {
                PyValueError::new_err(format!("unknown html_handling {html_handling:?}"))
            })?,
            not_found_handling: NotFoundHandling::parse(not_found_handling).ok_or_else(|| {
                PyValueError::new_err(format!("unknown not_found_handling {not_found_handling:?}"))
            })?,
        };
        DirAssets::new(&dir, options)
            .map(|s| Self(Arc::new(s)))
            .map_err(PyOSError::new_err)
    }
}

/// A queue in one SQLite file: the producer binding in an `Env`, and what a `worker.QueueBroker`
/// (or a `worker.Project`) delivers to a consumer worker.
#[pyclass(name = "SqliteQueue", module = "worker._worker", frozen)]
pub struct PySqliteQueue(pub Arc<SqliteQueue>);

#[pymethods]
impl PySqliteQueue {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        SqliteQueue::open(&path)
            .map(|s| Self(Arc::new(s)))
            .map_err(PyOSError::new_err)
    }
}
