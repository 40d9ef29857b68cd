//! The store traits implemented by the host's JavaScript. Each adapter turns a trait call into
//! one dispatcher call (see `call.rs`); `lib/stores.js` normalises what the host's method returns
//! into the shapes read here, so this side only maps plain data.
use crate::call::{Arg, Dispatch, call, call_blocking};
use async_trait::async_trait;
use napi::bindgen_prelude::{Buffer, Undefined};
use napi_derive::napi;
use serde_json::Value;
use worker_core::HostError;
use worker_core::assets::{AssetRequest, AssetResponse, AssetsFetcher};
use worker_core::body::{self, Body};
use worker_core::cache::{CacheStore, CachedResponse};
use worker_core::d1::{
    D1Database, D1DumpError, D1Error, D1Meta, D1Mode, D1Query, D1Response, D1StatementResult,
    D1Value,
};
use worker_core::engine::has_module_syntax;
use worker_core::kv::{KvEntry, KvKey, KvList, KvListOptions, KvPutOptions, KvStore};
use worker_core::queue::{QueueMessage, QueueMetrics, QueueSender};
use worker_core::r2::{
    R2GetOptions, R2GetResult, R2Hasher, R2ListOptions, R2Object, R2Objects, R2PutOptions, R2Store,
};
use worker_core::{Module, ModuleType, SourceLoader, WorkerSource};

fn pairs(headers: &[(String, String)]) -> Arg {
    Arg::List(
        headers
            .iter()
            .map(|(k, v)| Arg::List(vec![Arg::Str(k.clone()), Arg::Str(v.clone())]))
            .collect(),
    )
}

fn from_pairs(list: Vec<Vec<String>>) -> Vec<(String, String)> {
    list.into_iter()
        .filter_map(|p| {
            let mut it = p.into_iter();
            Some((it.next()?, it.next()?))
        })
        .collect()
}

fn unexpected(what: &str) -> HostError {
    HostError::new(format!("the store returned an unexpected value: {what}"))
}

// ---------------------------------------------------------------- KV

#[napi(object)]
pub struct KvEntryJs {
    pub value: Buffer,
    /// JSON text of the metadata.
    pub metadata: Option<String>,
    pub expiration: Option<f64>,
}

impl KvEntryJs {
    fn into_entry(self) -> KvEntry {
        KvEntry {
            value: self.value.to_vec(),
            metadata: self.metadata,
            expiration: self.expiration.map(|e| e as u64),
        }
    }
}

#[napi(object)]
pub struct KvKeyJs {
    pub name: String,
    pub expiration: Option<f64>,
    pub metadata: Option<String>,
}

#[napi(object)]
pub struct KvListJs {
    pub keys: Vec<KvKeyJs>,
    pub list_complete: bool,
    pub cursor: Option<String>,
}

pub struct JsKv(pub Dispatch);

#[async_trait]
impl KvStore for JsKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, HostError> {
        let args = vec![Arg::Str(key.into())];
        call(&self.0, "get", args, |e: Option<KvEntryJs>| {
            Ok(e.map(KvEntryJs::into_entry))
        })
        .await
    }

    async fn put(&self, key: &str, value: Vec<u8>, options: KvPutOptions) -> Result<(), HostError> {
        let args = vec![
            Arg::Str(key.into()),
            Arg::Bytes(value),
            Arg::opt_num(options.expiration.map(|e| e as f64)),
            Arg::opt_str(options.metadata.as_deref()),
        ];
        call(&self.0, "put", args, |_: Undefined| Ok(())).await
    }

    async fn delete(&self, key: &str) -> Result<(), HostError> {
        let args = vec![Arg::Str(key.into())];
        call(&self.0, "delete", args, |_: Undefined| Ok(())).await
    }

    async fn list(&self, options: KvListOptions) -> Result<KvList, HostError> {
        let args = vec![
            Arg::Str(options.prefix),
            Arg::Num(options.limit as f64),
            Arg::opt_str(options.cursor.as_deref()),
        ];
        call(&self.0, "list", args, |l: KvListJs| {
            Ok(KvList {
                keys: l
                    .keys
                    .into_iter()
                    .map(|k| KvKey {
                        name: k.name,
                        expiration: k.expiration.map(|e| e as u64),
                        metadata: k.metadata,
                    })
                    .collect(),
                list_complete: l.list_complete,
                cursor: l.cursor,
            })
        })
        .await
    }
}

// ---------------------------------------------------------------- R2

#[napi(object)]
pub struct R2GetJs {
    /// The object's metadata as `put` was given it (R2Object's JSON shape).
    pub object: Value,
    pub body: Buffer,
}

/// An R2 bucket in JS keeps whole objects: `put(key, bytes, object)` with the object's metadata
/// computed here (size, etag, checksums, upload time), `get(key)` answers `{object, body}`. The
/// adapter applies `onlyIf` and ranges itself, so a JS bucket stays a plain keyed store.
pub struct JsR2(pub Dispatch);

impl JsR2 {
    async fn fetch(&self, key: &str) -> Result<Option<(R2Object, Vec<u8>)>, HostError> {
        call(
            &self.0,
            "get",
            vec![Arg::Str(key.into())],
            |g: Option<R2GetJs>| match g {
                None => Ok(None),
                Some(g) => Ok(Some((R2Object::from_json(&g.object)?, g.body.to_vec()))),
            },
        )
        .await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

#[async_trait]
impl R2Store for JsR2 {
    async fn head(&self, key: &str) -> Result<Option<R2Object>, HostError> {
        Ok(self.fetch(key).await?.map(|(o, _)| o))
    }

    async fn get(&self, key: &str, options: R2GetOptions) -> Result<R2GetResult, HostError> {
        let Some((object, bytes)) = self.fetch(key).await? else {
            return Ok(R2GetResult::NotFound);
        };
        if let Some(cond) = &options.only_if
            && !cond.holds(Some((&object.etag, object.uploaded)))
        {
            return Ok(R2GetResult::PreconditionFailed(object));
        }
        let range = match &options.range {
            Some(r) => r.resolve(bytes.len() as u64)?,
            None => worker_core::r2::R2Range {
                offset: 0,
                length: bytes.len() as u64,
            },
        };
        let start = range.offset as usize;
        let slice = bytes[start..start + range.length as usize].to_vec();
        Ok(R2GetResult::Found {
            object,
            range,
            body: body::from_bytes(slice),
        })
    }

    async fn put(
        &self,
        key: &str,
        mut value: Body,
        options: R2PutOptions,
    ) -> Result<Option<R2Object>, HostError> {
        let bytes = body::read_all(&mut value).await?;
        let mut hasher = R2Hasher::new(&options.checksums);
        hasher.update(&bytes);
        let checksums = hasher.finish()?;
        if let Some(cond) = &options.only_if {
            let current = self.head(key).await?;
            if !cond.holds(current.as_ref().map(|o| (o.etag.as_str(), o.uploaded))) {
                return Ok(None);
            }
        }
        let etag = hex(checksums.md5.as_deref().unwrap_or_default());
        let object = R2Object {
            key: key.to_string(),
            version: format!("{etag}-{}", now_ms() as u64),
            size: bytes.len() as u64,
            etag,
            uploaded: now_ms(),
            http_metadata: options.http_metadata,
            custom_metadata: options.custom_metadata,
            checksums,
            storage_class: options.storage_class,
        };
        let args = vec![
            Arg::Str(key.into()),
            Arg::Bytes(bytes),
            Arg::Json(object.to_json()),
        ];
        call(&self.0, "put", args, |_: Undefined| Ok(())).await?;
        Ok(Some(object))
    }

    async fn delete(&self, keys: &[String]) -> Result<(), HostError> {
        let keys = Arg::List(keys.iter().map(|k| Arg::Str(k.clone())).collect());
        call(&self.0, "delete", vec![keys], |_: Undefined| Ok(())).await
    }

    async fn list(&self, options: R2ListOptions) -> Result<R2Objects, HostError> {
        let args = vec![Arg::Json(options.to_json())];
        call(&self.0, "list", args, |v: Value| R2Objects::from_json(&v)).await
    }
}

// ---------------------------------------------------------------- D1

fn d1_arg(v: &D1Value) -> Arg {
    match v {
        D1Value::Null => Arg::Null,
        D1Value::Integer(i) if i.unsigned_abs() <= (1 << 53) => Arg::Num(*i as f64),
        D1Value::Integer(i) => Arg::BigInt(*i),
        D1Value::Real(r) => Arg::Num(*r),
        D1Value::Text(s) => Arg::Str(s.clone()),
        D1Value::Blob(b) => Arg::Bytes(b.clone()),
    }
}

/// A cell as `lib/stores.js` encodes it: plain JSON, except BLOBs as `{"blob": [bytes]}`,
/// integers beyond 2^53 as `{"bigint": "digits"}` and REALs with an integral value as
/// `{"real": n}`.
fn d1_value(v: &Value) -> Result<D1Value, HostError> {
    Ok(match v {
        Value::Null => D1Value::Null,
        Value::Bool(b) => D1Value::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => D1Value::Integer(i),
            None => D1Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => D1Value::Text(s.clone()),
        Value::Object(o) => {
            if let Some(Value::Array(bytes)) = o.get("blob") {
                D1Value::Blob(
                    bytes
                        .iter()
                        .map(|b| b.as_u64().unwrap_or(0) as u8)
                        .collect(),
                )
            } else if let Some(Value::String(s)) = o.get("bigint") {
                D1Value::Integer(s.parse().map_err(|_| unexpected("bigint cell"))?)
            } else if let Some(r) = o.get("real").and_then(Value::as_f64) {
                D1Value::Real(r)
            } else {
                return Err(unexpected("object cell"));
            }
        }
        Value::Array(_) => return Err(unexpected("array cell")),
    })
}

fn d1_meta(m: Option<&Value>) -> D1Meta {
    let Some(m) = m else {
        return D1Meta::default();
    };
    let u = |k: &str| m.get(k).and_then(Value::as_f64).unwrap_or(0.0) as u64;
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    D1Meta {
        duration: m.get("duration").and_then(Value::as_f64).unwrap_or(0.0),
        changes: u("changes"),
        last_row_id: m.get("last_row_id").and_then(Value::as_f64).unwrap_or(0.0) as i64,
        rows_read: u("rows_read"),
        rows_written: u("rows_written"),
        changed_db: m
            .get("changed_db")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        size_after: u("size_after"),
        served_by: s("served_by"),
        served_by_region: s("served_by_region"),
        served_by_primary: m.get("served_by_primary").and_then(Value::as_bool),
    }
}

fn d1_response(v: &Value) -> Result<Result<D1Response, D1Error>, HostError> {
    if let Some(message) = v.get("error").and_then(Value::as_str) {
        let statement = v.get("statement").and_then(Value::as_u64);
        return Ok(Err(D1Error {
            message: message.to_string(),
            statement: statement.map(|i| i as usize),
        }));
    }
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| unexpected("a D1 answer needs `results`"))?;
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        let columns: Vec<String> = r
            .get("columns")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(|c| Some(c.as_str()?.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut rows = Vec::new();
        for row in r
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cells = row.as_array().ok_or_else(|| unexpected("row"))?;
            if cells.len() != columns.len() {
                return Err(unexpected("a row's length differs from its columns'"));
            }
            for c in cells {
                rows.push(d1_value(c)?);
            }
        }
        out.push(D1StatementResult {
            columns,
            rows,
            meta: d1_meta(r.get("meta")),
        });
    }
    Ok(Ok(D1Response {
        results: out,
        bookmark: v
            .get("bookmark")
            .and_then(Value::as_str)
            .map(str::to_string),
    }))
}

pub struct JsD1(pub Dispatch);

#[async_trait]
impl D1Database for JsD1 {
    async fn query(&self, query: D1Query) -> Result<D1Response, D1Error> {
        let statements = query
            .statements
            .iter()
            .map(|s| {
                Arg::Object(vec![
                    ("sql", Arg::Str(s.sql.clone())),
                    ("params", Arg::List(s.params.iter().map(d1_arg).collect())),
                ])
            })
            .collect();
        let mode = match query.mode {
            D1Mode::Query => "query",
            D1Mode::Exec => "exec",
        };
        let args = vec![Arg::Object(vec![
            ("mode", Arg::Str(mode.into())),
            ("session", Arg::Str(query.session)),
            ("statements", Arg::List(statements)),
        ])];
        match call(&self.0, "query", args, |v: Value| d1_response(&v)).await {
            Ok(answer) => answer,
            Err(e) => Err(D1Error::new(e.message)),
        }
    }

    async fn dump(&self) -> Result<Vec<u8>, D1DumpError> {
        match call(&self.0, "dump", Vec::new(), |b: Option<Buffer>| {
            Ok(b.map(|b| b.to_vec()))
        })
        .await
        {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(D1DumpError::Unsupported),
            Err(e) => Err(D1DumpError::Failed(e.message)),
        }
    }
}

// ---------------------------------------------------------------- Cache

#[napi(object)]
pub struct CachedJs {
    pub status: u32,
    pub headers: Vec<Vec<String>>,
    pub body: Buffer,
    /// Milliseconds since the UNIX epoch after which the entry must not be served.
    pub expires_at: f64,
}

pub struct JsCache(pub Dispatch);

#[async_trait]
impl CacheStore for JsCache {
    async fn get(
        &self,
        cache: Option<&str>,
        url: &str,
    ) -> Result<Option<CachedResponse>, HostError> {
        let args = vec![Arg::opt_str(cache), Arg::Str(url.into())];
        call(&self.0, "get", args, |c: Option<CachedJs>| {
            Ok(c.map(|c| CachedResponse {
                status: c.status as u16,
                headers: from_pairs(c.headers),
                body: c.body.to_vec(),
                expires_at: c.expires_at as u64,
            }))
        })
        .await
    }

    async fn put(
        &self,
        cache: Option<&str>,
        url: &str,
        response: CachedResponse,
    ) -> Result<(), HostError> {
        let entry = Arg::Object(vec![
            ("status", Arg::Num(response.status as f64)),
            ("headers", pairs(&response.headers)),
            ("body", Arg::Bytes(response.body)),
            ("expiresAt", Arg::Num(response.expires_at as f64)),
        ]);
        let args = vec![Arg::opt_str(cache), Arg::Str(url.into()), entry];
        call(&self.0, "put", args, |_: Undefined| Ok(())).await
    }

    async fn delete(&self, cache: Option<&str>, url: &str) -> Result<bool, HostError> {
        let args = vec![Arg::opt_str(cache), Arg::Str(url.into())];
        call(&self.0, "delete", args, |b: bool| Ok(b)).await
    }
}

// ---------------------------------------------------------------- Assets

#[napi(object)]
pub struct AssetJs {
    pub status: u32,
    pub headers: Vec<Vec<String>>,
    pub body: Buffer,
}

pub struct JsAssets(pub Dispatch);

#[async_trait]
impl AssetsFetcher for JsAssets {
    async fn fetch(&self, request: AssetRequest) -> Result<AssetResponse, HostError> {
        let args = vec![Arg::Object(vec![
            ("method", Arg::Str(request.method)),
            ("url", Arg::Str(request.url)),
            ("headers", pairs(&request.headers)),
        ])];
        call(&self.0, "fetch", args, |a: AssetJs| {
            Ok(AssetResponse {
                status: a.status as u16,
                headers: from_pairs(a.headers),
                body: a.body.to_vec(),
            })
        })
        .await
    }
}

// ---------------------------------------------------------------- Queues

fn metrics(v: &Value) -> QueueMetrics {
    let n = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0) as u64;
    QueueMetrics {
        backlog_count: n("backlogCount"),
        backlog_bytes: n("backlogBytes"),
        oldest_message_timestamp_ms: v
            .get("oldestMessageTimestamp")
            .and_then(Value::as_f64)
            .map(|t| t as u64),
    }
}

pub struct JsQueue(pub Dispatch);

#[async_trait]
impl QueueSender for JsQueue {
    async fn send(&self, messages: Vec<QueueMessage>) -> Result<QueueMetrics, HostError> {
        let list = messages
            .into_iter()
            .map(|m| {
                Arg::Object(vec![
                    ("body", Arg::Bytes(m.body)),
                    ("contentType", Arg::Str(m.content_type.as_str().into())),
                    ("delaySeconds", Arg::opt_num(m.delay_seconds.map(f64::from))),
                ])
            })
            .collect();
        call(&self.0, "send", vec![Arg::List(list)], |v: Value| {
            Ok(metrics(&v))
        })
        .await
    }

    async fn metrics(&self) -> Result<QueueMetrics, HostError> {
        call(&self.0, "metrics", Vec::new(), |v: Value| Ok(metrics(&v))).await
    }
}

// ---------------------------------------------------------------- Source loader

#[napi(object)]
pub struct ModuleJs {
    pub name: String,
    /// "esm" | "script" | "text" | "json" | "data" | "detect"
    pub kind: String,
    pub content: Buffer,
}

#[napi(object)]
pub struct SourceJs {
    pub main_module: String,
    pub modules: Vec<ModuleJs>,
}

impl SourceJs {
    pub fn into_source(self) -> Result<WorkerSource, String> {
        let modules = self
            .modules
            .into_iter()
            .map(|m| {
                let kind = match m.kind.as_str() {
                    // wrangler's rule: module syntax makes an ES module, else a classic script.
                    "detect" if has_module_syntax(&String::from_utf8_lossy(&m.content)) => {
                        ModuleType::EsModule
                    }
                    "detect" => ModuleType::Script,
                    "esm" => ModuleType::EsModule,
                    "script" => ModuleType::Script,
                    "text" => ModuleType::Text,
                    "json" => ModuleType::Json,
                    "data" => ModuleType::Data,
                    other => return Err(format!("module {}: unknown type {other:?}", m.name)),
                };
                Ok(Module {
                    name: m.name,
                    kind,
                    content: m.content.to_vec(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkerSource {
            main_module: self.main_module,
            modules,
        })
    }
}

/// The engine asks for code on a thread that may block, so the loader waits for Node's answer.
pub struct JsLoader(pub Dispatch);

impl SourceLoader for JsLoader {
    fn load(&self, site_id: &str, deploy_key: &str) -> Result<WorkerSource, String> {
        let args = vec![Arg::Str(site_id.into()), Arg::Str(deploy_key.into())];
        call_blocking(&self.0, "load", args, |s: SourceJs| {
            s.into_source().map_err(HostError::new)
        })
        .map_err(|e| e.message)
    }
}
