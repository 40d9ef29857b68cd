//! Adapters that let Python objects serve the engine's store traits. Each Rust trait method
//! calls the Python method of the same name through [`PyTarget`]; arguments cross as plain
//! Python values (str, bytes, int, dicts in the JSON shapes of the C ABI) or the small
//! dataclasses of `worker._types`, and answers may be those dataclasses or equivalent dicts.
use crate::body::{PyBody, iter_body};
use crate::conv::{field, headers, headers_to_py, json_to_py, py_to_json, required, to_bytes};
use crate::dispatch::{Args, PyTarget};
use async_trait::async_trait;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use serde_json::Value;
use worker_core::HostError;
use worker_core::assets::{AssetRequest, AssetResponse, AssetsFetcher};
use worker_core::body::{self, Body};
use worker_core::cache::{CacheStore, CachedResponse};
use worker_core::d1::{
    D1Database, D1DumpError, D1Error, D1Meta, D1Mode, D1Query, D1Response, D1StatementResult,
    D1Value,
};
use worker_core::kv::{KvEntry, KvKey, KvList, KvListOptions, KvPutOptions, KvStore};
use worker_core::queue::{QueueMessage, QueueMetrics, QueueSender};
use worker_core::r2::{
    R2GetOptions, R2GetResult, R2MultipartOptions, R2Object, R2Objects, R2PutOptions, R2Range,
    R2Store, R2UploadedPart,
};

/// A class from `worker._types` (the dataclasses stores receive).
pub fn types_cls<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let m = MODULE.get_or_try_init(py, || py.import("worker._types").map(Bound::unbind))?;
    m.bind(py).getattr(name)
}

fn args<'py, A>(py: Python<'py>, items: A) -> PyResult<Args<'py>>
where
    A: IntoPyObject<'py, Target = PyTuple, Output = Bound<'py, PyTuple>>,
    A::Error: Into<PyErr>,
{
    Ok((items.into_pyobject(py).map_err(Into::into)?, None))
}

fn kwargs<'py>(
    pairs: &[(&str, Bound<'py, PyAny>)],
    py: Python<'py>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(*k, v)?;
    }
    Ok(Some(d))
}

fn opt_json(py: Python<'_>, text: Option<&str>) -> PyResult<Py<PyAny>> {
    match text {
        None => Ok(py.None()),
        Some(t) => {
            let v: Value = serde_json::from_str(t).unwrap_or(Value::String(t.to_string()));
            Ok(json_to_py(py, &v)?.unbind())
        }
    }
}

fn opt_u64(v: Option<Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    v.map(|x| x.extract::<f64>().map(|f| f as u64)).transpose()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---------------------------------------------------------------------- KV

pub struct PyKv(pub PyTarget);

/// A KV value as a store returns it: bytes or str, or a `KvEntry` (or dict) with `value`,
/// `metadata` (any JSON value) and `expiration` (seconds since the epoch).
fn kv_entry(v: &Bound<'_, PyAny>) -> PyResult<Option<KvEntry>> {
    if v.is_none() {
        return Ok(None);
    }
    if v.is_instance_of::<PyBytes>() || v.is_instance_of::<PyString>() {
        return Ok(Some(KvEntry {
            value: to_bytes(v)?,
            ..Default::default()
        }));
    }
    let value = to_bytes(&required(v, "value", "a KV entry")?)?;
    let metadata = field(v, "metadata")?
        .map(|m| py_to_json(&m).map(|j| j.to_string()))
        .transpose()?;
    let expiration = opt_u64(field(v, "expiration")?)?;
    // Expired entries are invisible, whether or not the store has dropped them yet.
    if expiration.is_some_and(|e| e <= now_secs()) {
        return Ok(None);
    }
    Ok(Some(KvEntry {
        value,
        metadata,
        expiration,
    }))
}

fn kv_key(v: &Bound<'_, PyAny>) -> PyResult<KvKey> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(KvKey {
            name: s.to_cow()?.into_owned(),
            ..Default::default()
        });
    }
    Ok(KvKey {
        name: required(v, "name", "a KV key")?.extract()?,
        expiration: opt_u64(field(v, "expiration")?)?,
        metadata: field(v, "metadata")?
            .map(|m| py_to_json(&m).map(|j| j.to_string()))
            .transpose()?,
    })
}

fn kv_list(v: &Bound<'_, PyAny>) -> PyResult<KvList> {
    let now = now_secs();
    let mut keys = Vec::new();
    if let Some(ks) = field(v, "keys")? {
        for k in ks.try_iter()? {
            let k = kv_key(&k?)?;
            if k.expiration.is_none_or(|e| e > now) {
                keys.push(k);
            }
        }
    }
    let cursor: Option<String> = field(v, "cursor")?.map(|c| c.extract()).transpose()?;
    let list_complete = match field(v, "list_complete")? {
        Some(c) => c.is_truthy()?,
        None => cursor.is_none(),
    };
    Ok(KvList {
        keys,
        list_complete,
        cursor,
    })
}

#[async_trait]
impl KvStore for PyKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, HostError> {
        let key = key.to_string();
        self.0
            .call("get", move |py| args(py, (key,)), kv_entry)
            .await
    }

    async fn put(&self, key: &str, value: Vec<u8>, options: KvPutOptions) -> Result<(), HostError> {
        let key = key.to_string();
        self.0
            .call(
                "put",
                move |py| {
                    let metadata = opt_json(py, options.metadata.as_deref())?.into_bound(py);
                    let expiration = options.expiration.into_pyobject(py)?.into_any();
                    Ok((
                        (key, PyBytes::new(py, &value)).into_pyobject(py)?,
                        kwargs(&[("metadata", metadata), ("expiration", expiration)], py)?,
                    ))
                },
                |_| Ok(()),
            )
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), HostError> {
        let key = key.to_string();
        self.0
            .call("delete", move |py| args(py, (key,)), |_| Ok(()))
            .await
    }

    async fn list(&self, options: KvListOptions) -> Result<KvList, HostError> {
        self.0
            .call(
                "list",
                move |py| {
                    let none = PyTuple::empty(py);
                    Ok((
                        none,
                        kwargs(
                            &[
                                ("prefix", PyString::new(py, &options.prefix).into_any()),
                                ("limit", options.limit.into_pyobject(py)?.into_any()),
                                ("cursor", options.cursor.into_pyobject(py)?.into_any()),
                            ],
                            py,
                        )?,
                    ))
                },
                kv_list,
            )
            .await
    }
}

// ---------------------------------------------------------------------- R2

pub struct PyR2(pub PyTarget);

fn json_arg(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(json_to_py(py, v)?.unbind())
}

fn r2_object(v: &Bound<'_, PyAny>) -> PyResult<R2Object> {
    R2Object::from_json(&py_to_json(v)?).map_err(|e| PyValueError::new_err(e.message))
}

fn opt_r2_object(v: &Bound<'_, PyAny>) -> PyResult<Option<R2Object>> {
    if v.is_none() {
        return Ok(None);
    }
    r2_object(v).map(Some)
}

/// A body a store hands back: bytes or str (sent in 64 KiB chunks), or an iterable of chunks.
fn body_from_py(v: &Bound<'_, PyAny>) -> PyResult<Body> {
    if v.is_instance_of::<PyBytes>() || v.is_instance_of::<PyString>() {
        return Ok(body::from_bytes_chunked(to_bytes(v)?, 64 * 1024));
    }
    if let Ok(b) = v.cast::<PyBody>() {
        return b
            .get()
            .take()
            .ok_or_else(|| PyValueError::new_err("this body was already read"));
    }
    Ok(iter_body(v.try_iter()?.into_any().unbind()))
}

/// `get`'s answer: `None`, an object without a body (its `onlyIf` failed), or `(object, body)`
/// / an `R2ObjectBody`. The adapter evaluates `onlyIf` and cuts a whole-object bytes body to
/// the requested range, so a simple store can ignore both.
fn r2_get(v: &Bound<'_, PyAny>, options: &R2GetOptions) -> PyResult<R2GetResult> {
    if v.is_none() {
        return Ok(R2GetResult::NotFound);
    }
    let (object, body_v, range_v) = if let Ok(t) = v.cast::<PyTuple>() {
        let object = t.get_item(0)?;
        let body_v = t.get_item(1).ok().filter(|b| !b.is_none());
        (object, body_v, None)
    } else if field(v, "object")?.is_some() {
        (
            required(v, "object", "an R2 get result")?,
            field(v, "body")?,
            field(v, "range")?,
        )
    } else {
        (v.clone(), None, None)
    };
    let object = r2_object(&object)?;
    let Some(body_v) = body_v else {
        return Ok(R2GetResult::PreconditionFailed(object));
    };
    if let Some(c) = &options.only_if
        && !c.holds(Some((&object.etag, object.uploaded)))
    {
        return Ok(R2GetResult::PreconditionFailed(object));
    }
    let wanted = match &options.range {
        Some(r) => r
            .resolve(object.size)
            .map_err(|e| PyValueError::new_err(e.message))?,
        None => R2Range {
            offset: 0,
            length: object.size,
        },
    };
    let range = match range_v {
        Some(r) => {
            let (offset, length): (u64, u64) = r.extract()?;
            R2Range { offset, length }
        }
        None => wanted,
    };
    let body = if (body_v.is_instance_of::<PyBytes>() || body_v.is_instance_of::<PyString>())
        && to_bytes(&body_v)?.len() as u64 == object.size
        && range.length < object.size
    {
        let all = to_bytes(&body_v)?;
        let end = (range.offset + range.length) as usize;
        body::from_bytes_chunked(all[range.offset as usize..end].to_vec(), 64 * 1024)
    } else {
        body_from_py(&body_v)?
    };
    Ok(R2GetResult::Found {
        object,
        range,
        body,
    })
}

#[async_trait]
impl R2Store for PyR2 {
    async fn head(&self, key: &str) -> Result<Option<R2Object>, HostError> {
        let key = key.to_string();
        self.0
            .call("head", move |py| args(py, (key,)), opt_r2_object)
            .await
    }

    async fn get(&self, key: &str, options: R2GetOptions) -> Result<R2GetResult, HostError> {
        let key = key.to_string();
        let json = options.to_json();
        self.0
            .call(
                "get",
                move |py| args(py, (key, json_arg(py, &json)?)),
                move |v| r2_get(v, &options),
            )
            .await
    }

    async fn put(
        &self,
        key: &str,
        body: Body,
        options: R2PutOptions,
    ) -> Result<Option<R2Object>, HostError> {
        let key = key.to_string();
        let body = worker_core::r2::verifying(body, &options.checksums);
        let json = options.to_json();
        self.0
            .call(
                "put",
                move |py| {
                    let body = Py::new(py, PyBody::new(body))?;
                    args(py, (key, body, json_arg(py, &json)?))
                },
                opt_r2_object,
            )
            .await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), HostError> {
        let keys = keys.to_vec();
        self.0
            .call("delete", move |py| args(py, (keys,)), |_| Ok(()))
            .await
    }

    async fn list(&self, options: R2ListOptions) -> Result<R2Objects, HostError> {
        let json = options.to_json();
        self.0
            .call(
                "list",
                move |py| args(py, (json_arg(py, &json)?,)),
                |v| {
                    R2Objects::from_json(&py_to_json(v)?)
                        .map_err(|e| PyValueError::new_err(e.message))
                },
            )
            .await
    }

    async fn create_multipart_upload(
        &self,
        key: &str,
        options: R2MultipartOptions,
    ) -> Result<String, HostError> {
        let key = key.to_string();
        let json = options.to_json();
        self.0
            .call_optional(
                "create_multipart_upload",
                move |py| args(py, (key, json_arg(py, &json)?)),
                |v| v.extract::<String>(),
            )
            .await?
            .ok_or_else(|| HostError::new("Multipart uploads are not supported by this bucket."))
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Body,
        size: u64,
    ) -> Result<R2UploadedPart, HostError> {
        let (key, upload_id) = (key.to_string(), upload_id.to_string());
        self.0
            .call_optional(
                "upload_part",
                move |py| {
                    let body = Py::new(py, PyBody::new(body))?;
                    args(py, (key, upload_id, part_number, body, size))
                },
                |v| {
                    let parts = R2UploadedPart::list_from_json(&Value::Array(vec![py_to_json(v)?]))
                        .map_err(|e| PyValueError::new_err(e.message))?;
                    Ok(parts.into_iter().next().expect("one part"))
                },
            )
            .await?
            .ok_or_else(worker_core::r2::errors::no_such_upload)
    }

    async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<R2UploadedPart>,
    ) -> Result<R2Object, HostError> {
        let (key, upload_id) = (key.to_string(), upload_id.to_string());
        let json = R2UploadedPart::list_to_json(&parts);
        self.0
            .call_optional(
                "complete_multipart_upload",
                move |py| args(py, (key, upload_id, json_arg(py, &json)?)),
                r2_object,
            )
            .await?
            .ok_or_else(worker_core::r2::errors::no_such_upload)
    }

    async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), HostError> {
        let (key, upload_id) = (key.to_string(), upload_id.to_string());
        self.0
            .call_optional(
                "abort_multipart_upload",
                move |py| args(py, (key, upload_id)),
                |_| Ok(()),
            )
            .await
            .map(|_| ())
    }
}

use worker_core::r2::R2ListOptions;

// ---------------------------------------------------------------------- D1

pub struct PyD1(pub PyTarget);

fn d1_value_to_py(py: Python<'_>, v: &D1Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        D1Value::Null => py.None(),
        D1Value::Integer(i) => i.into_pyobject(py)?.into_any().unbind(),
        D1Value::Real(f) => f.into_pyobject(py)?.into_any().unbind(),
        D1Value::Text(s) => PyString::new(py, s).into_any().unbind(),
        D1Value::Blob(b) => PyBytes::new(py, b).into_any().unbind(),
    })
}

fn d1_value(v: &Bound<'_, PyAny>) -> PyResult<D1Value> {
    if v.is_none() {
        return Ok(D1Value::Null);
    }
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(D1Value::Integer(v.is_truthy()? as i64));
    }
    if v.is_instance_of::<pyo3::types::PyInt>() {
        return Ok(D1Value::Integer(v.extract()?));
    }
    if v.is_instance_of::<pyo3::types::PyFloat>() {
        return Ok(D1Value::Real(v.extract()?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(D1Value::Text(s.to_cow()?.into_owned()));
    }
    Ok(D1Value::Blob(to_bytes(v)?))
}

fn d1_query_to_py<'py>(py: Python<'py>, q: &D1Query) -> PyResult<Bound<'py, PyDict>> {
    let statements = PyList::empty(py);
    for s in &q.statements {
        let d = PyDict::new(py);
        d.set_item("sql", &s.sql)?;
        let params = s
            .params
            .iter()
            .map(|p| d1_value_to_py(py, p))
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("params", params)?;
        statements.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item(
        "mode",
        match q.mode {
            D1Mode::Query => "query",
            D1Mode::Exec => "exec",
        },
    )?;
    out.set_item("session", &q.session)?;
    out.set_item("statements", statements)?;
    Ok(out)
}

fn d1_meta(m: Option<Bound<'_, PyAny>>) -> PyResult<D1Meta> {
    let Some(m) = m else {
        return Ok(D1Meta::default());
    };
    let num = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> { field(&m, k) };
    Ok(D1Meta {
        duration: num("duration")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(0.0),
        changes: num("changes")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(0),
        last_row_id: num("last_row_id")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(0),
        rows_read: num("rows_read")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(0),
        rows_written: num("rows_written")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(0),
        changed_db: num("changed_db")?
            .map(|v| v.is_truthy())
            .transpose()?
            .unwrap_or(false),
        size_after: num("size_after")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(0),
        served_by: num("served_by")?.map(|v| v.extract()).transpose()?,
        served_by_region: num("served_by_region")?.map(|v| v.extract()).transpose()?,
        served_by_primary: num("served_by_primary")?
            .map(|v| v.is_truthy())
            .transpose()?,
    })
}

/// `{"results": [{"columns", "rows", "meta"}], "bookmark"}` or `{"error", "statement"}`.
fn d1_answer(v: &Bound<'_, PyAny>, statements: usize) -> PyResult<Result<D1Response, D1Error>> {
    if let Some(error) = field(v, "error")? {
        let message: String = error.extract()?;
        let statement: Option<usize> = field(v, "statement")?.map(|s| s.extract()).transpose()?;
        return Ok(Err(D1Error { message, statement }));
    }
    let mut results = Vec::new();
    for r in required(v, "results", "a D1 answer")?.try_iter()? {
        let r = r?;
        let columns: Vec<String> = field(&r, "columns")?
            .map(|c| c.extract())
            .transpose()?
            .unwrap_or_default();
        let mut rows = Vec::new();
        if let Some(rs) = field(&r, "rows")? {
            for row in rs.try_iter()? {
                let row = row?;
                let mut n = 0;
                for cell in row.try_iter()? {
                    rows.push(d1_value(&cell?)?);
                    n += 1;
                }
                if n != columns.len() {
                    return Err(PyValueError::new_err(format!(
                        "a row has {n} cells for {} columns",
                        columns.len()
                    )));
                }
            }
        }
        results.push(D1StatementResult {
            columns,
            rows,
            meta: d1_meta(field(&r, "meta")?)?,
        });
    }
    if results.len() != statements {
        return Err(PyValueError::new_err(format!(
            "{} results for {statements} statements",
            results.len()
        )));
    }
    Ok(Ok(D1Response {
        results,
        bookmark: field(v, "bookmark")?.map(|b| b.extract()).transpose()?,
    }))
}

#[async_trait]
impl D1Database for PyD1 {
    async fn query(&self, query: D1Query) -> Result<D1Response, D1Error> {
        let n = query.statements.len();
        let answer = self
            .0
            .call(
                "query",
                move |py| args(py, (d1_query_to_py(py, &query)?,)),
                move |v| d1_answer(v, n),
            )
            .await;
        match answer {
            Ok(r) => r,
            Err(e) => Err(D1Error::new(e.message)),
        }
    }

    async fn dump(&self) -> Result<Vec<u8>, D1DumpError> {
        match self
            .0
            .call_optional("dump", |py| args(py, ()), to_bytes)
            .await
        {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(D1DumpError::Unsupported),
            Err(e) => Err(D1DumpError::Failed(e.message)),
        }
    }
}

// ---------------------------------------------------------------------- Cache

pub struct PyCache(pub PyTarget);

fn cached_response(v: &Bound<'_, PyAny>) -> PyResult<Option<CachedResponse>> {
    if v.is_none() {
        return Ok(None);
    }
    Ok(Some(CachedResponse {
        status: required(v, "status", "a cached response")?.extract()?,
        headers: headers(field(v, "headers")?.as_ref())?,
        body: field(v, "body")?
            .map(|b| to_bytes(&b))
            .transpose()?
            .unwrap_or_default(),
        expires_at: required(v, "expires_at", "a cached response")?.extract()?,
    }))
}

#[async_trait]
impl CacheStore for PyCache {
    async fn get(
        &self,
        cache: Option<&str>,
        url: &str,
    ) -> Result<Option<CachedResponse>, HostError> {
        let (cache, url) = (cache.map(str::to_string), url.to_string());
        self.0
            .call("get", move |py| args(py, (cache, url)), cached_response)
            .await
    }

    async fn put(
        &self,
        cache: Option<&str>,
        url: &str,
        response: CachedResponse,
    ) -> Result<(), HostError> {
        let (cache, url) = (cache.map(str::to_string), url.to_string());
        self.0
            .call(
                "put",
                move |py| {
                    let r = types_cls(py, "CachedResponse")?.call1((
                        response.status,
                        headers_to_py(py, &response.headers)?,
                        PyBytes::new(py, &response.body),
                        response.expires_at,
                    ))?;
                    args(py, (cache, url, r))
                },
                |_| Ok(()),
            )
            .await
    }

    async fn delete(&self, cache: Option<&str>, url: &str) -> Result<bool, HostError> {
        let (cache, url) = (cache.map(str::to_string), url.to_string());
        self.0
            .call(
                "delete",
                move |py| args(py, (cache, url)),
                |v| v.is_truthy(),
            )
            .await
    }
}

// ---------------------------------------------------------------------- Assets

pub struct PyAssets(pub PyTarget);

fn asset_response(v: &Bound<'_, PyAny>) -> PyResult<AssetResponse> {
    Ok(AssetResponse {
        status: required(v, "status", "an asset response")?.extract()?,
        headers: headers(field(v, "headers")?.as_ref())?,
        body: field(v, "body")?
            .map(|b| to_bytes(&b))
            .transpose()?
            .unwrap_or_default(),
    })
}

#[async_trait]
impl AssetsFetcher for PyAssets {
    async fn fetch(&self, request: AssetRequest) -> Result<AssetResponse, HostError> {
        self.0
            .call(
                "fetch",
                move |py| {
                    let r = types_cls(py, "AssetRequest")?.call1((
                        &request.method,
                        &request.url,
                        headers_to_py(py, &request.headers)?,
                    ))?;
                    args(py, (r,))
                },
                asset_response,
            )
            .await
    }
}

// ---------------------------------------------------------------------- Queues

pub struct PyQueue(pub PyTarget);

fn queue_metrics(v: &Bound<'_, PyAny>) -> PyResult<QueueMetrics> {
    if v.is_none() {
        return Ok(QueueMetrics::default());
    }
    let n = |k: &str| -> PyResult<Option<u64>> { field(v, k)?.map(|x| x.extract()).transpose() };
    Ok(QueueMetrics {
        backlog_count: n("backlog_count")?.unwrap_or(0),
        backlog_bytes: n("backlog_bytes")?.unwrap_or(0),
        oldest_message_timestamp_ms: n("oldest_message_timestamp_ms")?,
    })
}

#[async_trait]
impl QueueSender for PyQueue {
    async fn send(&self, messages: Vec<QueueMessage>) -> Result<QueueMetrics, HostError> {
        self.0
            .call(
                "send",
                move |py| {
                    let cls = types_cls(py, "QueueMessage")?;
                    let list = PyList::empty(py);
                    for m in &messages {
                        list.append(cls.call1((
                            PyBytes::new(py, &m.body),
                            m.content_type.as_str(),
                            m.delay_seconds,
                        ))?)?;
                    }
                    args(py, (list,))
                },
                queue_metrics,
            )
            .await
    }

    async fn metrics(&self) -> Result<QueueMetrics, HostError> {
        Ok(self
            .0
            .call_optional("metrics", |py| args(py, ()), queue_metrics)
            .await?
            .unwrap_or_default())
    }
}
