//! R2: the bucket interface a host implements, the helpers every store needs (conditionals,
//! ranges, checksums, Cloudflare's error texts), and the ops behind `R2Bucket` (`r2.js`).
//!
//! Argument validation and the JS object model live in `r2.js`. What crosses between JS and Rust
//! (and the C ABI) besides bodies is JSON in the shapes documented on each `to_json`/`from_json`,
//! so a host store written in any language sees one format.
use super::body::{Body, BodyReader, body_arg};
use super::host::{self, HostError};
use crate::engine::worker::IsolateState;
use crate::v8::Scope;
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use sha1::Digest;
use std::collections::BTreeMap;
use std::sync::Arc;

// ---------------------------------------------------------------------- errors

/// Cloudflare's R2 error texts (the worker sees `"<method>: <text> (<code>)"`).
pub mod errors {
    use super::HostError;

    fn coded(text: &str, code: u32) -> HostError {
        HostError::new(format!("{text} ({code})"))
    }
    /// A part number, upload id or state that does not name a live multipart upload.
    pub fn no_such_upload() -> HostError {
        coded("The specified multipart upload does not exist.", 10024)
    }
    /// `complete` named a part that was not uploaded, or with another etag.
    pub fn invalid_part() -> HostError {
        coded(
            "One or more of the specified parts could not be found.",
            10025,
        )
    }
    /// A part other than the last is under 5 MiB.
    pub fn entity_too_small() -> HostError {
        coded(
            "Your proposed upload is smaller than the minimum allowed object size.",
            10011,
        )
    }
    /// Parts other than the last differ in size, or the last is larger than the others.
    pub fn bad_upload() -> HostError {
        coded("There was a problem with the multipart upload.", 10048)
    }
    /// A range starting past the object's end.
    pub fn invalid_range() -> HostError {
        coded("The requested range is not satisfiable", 10039)
    }
    /// A checksum given to `put` that the received bytes do not have.
    pub fn bad_digest(algorithm: &str, expected: &[u8], actual: &[u8]) -> HostError {
        HostError::new(format!(
            "The {algorithm} checksum you specified did not match what we received.\n\
             You provided a {algorithm} checksum with value: {}\n\
             Actual {algorithm} was: {} (10037)",
            super::hex(expected),
            super::hex(actual)
        ))
    }
}

/// Smallest size of every multipart part but the last.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn bad(what: &str) -> HostError {
    HostError::new(format!("invalid R2 {what}"))
}

// ---------------------------------------------------------------------- objects

/// `R2HTTPMetadata`: the HTTP headers an object is served with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R2HttpMetadata {
    pub content_type: Option<String>,
    pub content_language: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub cache_control: Option<String>,
    /// Milliseconds since the UNIX epoch (the `Expires` header).
    pub cache_expiry: Option<f64>,
}

const HTTP_FIELDS: [&str; 5] = [
    "contentType",
    "contentLanguage",
    "contentDisposition",
    "contentEncoding",
    "cacheControl",
];

impl R2HttpMetadata {
    fn fields(&self) -> [&Option<String>; 5] {
        [
            &self.content_type,
            &self.content_language,
            &self.content_disposition,
            &self.content_encoding,
            &self.cache_control,
        ]
    }

    /// `{"contentType": "...", ..., "cacheExpiry": <ms>}`, absent fields left out.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (name, v) in HTTP_FIELDS.iter().zip(self.fields()) {
            if let Some(v) = v {
                m.insert(name.to_string(), json!(v));
            }
        }
        if let Some(t) = self.cache_expiry {
            m.insert("cacheExpiry".into(), json!(t));
        }
        Value::Object(m)
    }

    pub fn from_json(v: &Value) -> R2HttpMetadata {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        R2HttpMetadata {
            content_type: s("contentType"),
            content_language: s("contentLanguage"),
            content_disposition: s("contentDisposition"),
            content_encoding: s("contentEncoding"),
            cache_control: s("cacheControl"),
            cache_expiry: v.get("cacheExpiry").and_then(Value::as_f64),
        }
    }
}

/// Checksums of an object's bytes (raw digests, not hex).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct R2Checksums {
    pub md5: Option<Vec<u8>>,
    pub sha1: Option<Vec<u8>>,
    pub sha256: Option<Vec<u8>>,
    pub sha384: Option<Vec<u8>>,
    pub sha512: Option<Vec<u8>>,
}

const CHECKSUM_NAMES: [&str; 5] = ["md5", "sha1", "sha256", "sha384", "sha512"];

impl R2Checksums {
    fn fields(&self) -> [&Option<Vec<u8>>; 5] {
        [
            &self.md5,
            &self.sha1,
            &self.sha256,
            &self.sha384,
            &self.sha512,
        ]
    }

    /// `{"md5": "<hex>", "sha256": "<hex>", ...}`, absent ones left out.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (name, v) in CHECKSUM_NAMES.iter().zip(self.fields()) {
            if let Some(v) = v {
                m.insert(name.to_string(), json!(hex(v)));
            }
        }
        Value::Object(m)
    }

    pub fn from_json(v: &Value) -> Result<R2Checksums, HostError> {
        let get = |k: &str| -> Result<Option<Vec<u8>>, HostError> {
            match v.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(x) => x
                    .as_str()
                    .and_then(unhex)
                    .map(Some)
                    .ok_or_else(|| bad("checksum")),
            }
        };
        Ok(R2Checksums {
            md5: get("md5")?,
            sha1: get("sha1")?,
            sha256: get("sha256")?,
            sha384: get("sha384")?,
            sha512: get("sha512")?,
        })
    }
}

/// An object's metadata (`R2Object` in JS).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R2Object {
    pub key: String,
    /// Changes on every write of the key.
    pub version: String,
    pub size: u64,
    /// Unquoted: MD5 hex of the bytes, or `<hex>-<parts>` for a multipart upload.
    pub etag: String,
    /// Milliseconds since the UNIX epoch.
    pub uploaded: f64,
    pub http_metadata: R2HttpMetadata,
    pub custom_metadata: BTreeMap<String, String>,
    pub checksums: R2Checksums,
    /// `"Standard"` or `"InfrequentAccess"`.
    pub storage_class: String,
}

impl R2Object {
    /// `{"key", "version", "size", "etag", "uploaded": <ms>, "httpMetadata": {...},
    /// "customMetadata": {...}, "checksums": {...}, "storageClass"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "key": self.key,
            "version": self.version,
            "size": self.size,
            "etag": self.etag,
            "uploaded": self.uploaded,
            "httpMetadata": self.http_metadata.to_json(),
            "customMetadata": self.custom_metadata,
            "checksums": self.checksums.to_json(),
            "storageClass": self.storage_class,
        })
    }

    /// Reads the shape of [`R2Object::to_json`]; `key`, `size` and `etag` are required, the rest
    /// default (`version` to the etag, `storageClass` to `"Standard"`).
    pub fn from_json(v: &Value) -> Result<R2Object, HostError> {
        let key = v
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("object: `key` must be a string"))?;
        let size = v
            .get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("object: `size` must be a non-negative integer"))?;
        let etag = v
            .get("etag")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("object: `etag` must be a string"))?;
        let custom_metadata = match v.get("customMetadata") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        Ok(R2Object {
            key: key.to_string(),
            version: v
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or(etag)
                .to_string(),
            size,
            etag: etag.to_string(),
            uploaded: v.get("uploaded").and_then(Value::as_f64).unwrap_or(0.0),
            http_metadata: v
                .get("httpMetadata")
                .map(R2HttpMetadata::from_json)
                .unwrap_or_default(),
            custom_metadata,
            checksums: v
                .get("checksums")
                .map(R2Checksums::from_json)
                .transpose()?
                .unwrap_or_default(),
            storage_class: v
                .get("storageClass")
                .and_then(Value::as_str)
                .unwrap_or("Standard")
                .to_string(),
        })
    }
}

// ---------------------------------------------------------------------- conditionals

/// One entry of an etag condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum R2Etag {
    /// `*`: any existing object.
    Any,
    Strong(String),
    /// `W/"..."` (from an `If-None-Match` header); never matches `etagMatches`.
    Weak(String),
}

impl R2Etag {
    fn to_json(&self) -> Value {
        match self {
            R2Etag::Any => json!("*"),
            R2Etag::Strong(e) => json!(e),
            R2Etag::Weak(e) => json!(format!("W/{e}")),
        }
    }
    fn from_json(v: &Value) -> Option<R2Etag> {
        let s = v.as_str()?;
        Some(if s == "*" {
            R2Etag::Any
        } else if let Some(w) = s.strip_prefix("W/") {
            R2Etag::Weak(w.to_string())
        } else {
            R2Etag::Strong(s.to_string())
        })
    }
}

/// `R2Conditional` (or the conditional headers it may be given as), evaluated against the object
/// a store holds. Stores evaluate it in the same transaction as the read or write it guards.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R2Conditional {
    /// `etagMatches` / `If-Match`.
    pub etag_matches: Option<Vec<R2Etag>>,
    /// `etagDoesNotMatch` / `If-None-Match`.
    pub etag_does_not_match: Option<Vec<R2Etag>>,
    /// `uploadedBefore` / `If-Unmodified-Since`, milliseconds since the UNIX epoch.
    pub uploaded_before: Option<f64>,
    /// `uploadedAfter` / `If-Modified-Since`, milliseconds since the UNIX epoch.
    pub uploaded_after: Option<f64>,
    /// Compare upload times in whole seconds (always so for the header forms).
    pub seconds_granularity: bool,
}

impl R2Conditional {
    /// Whether the condition holds for `current` (`None`: the key has no object), following
    /// HTTP's precedence (RFC 9110 §13.2.2): a matching `etagMatches` makes `uploadedBefore`
    /// irrelevant, and a holding `etagDoesNotMatch` does the same for `uploadedAfter`.
    pub fn holds(&self, current: Option<(&str, f64)>) -> bool {
        let Some((etag, uploaded)) = current else {
            return self.etag_matches.is_none() && self.uploaded_after.is_none();
        };
        let matches = |list: &[R2Etag], weak: bool| {
            list.iter().any(|e| match e {
                R2Etag::Any => true,
                R2Etag::Strong(s) => s == etag,
                R2Etag::Weak(s) => weak && s == etag,
            })
        };
        let trunc = |t: f64| {
            if self.seconds_granularity {
                (t / 1000.0).floor() * 1000.0
            } else {
                t
            }
        };
        let uploaded = trunc(uploaded);
        let if_match = self.etag_matches.as_ref().is_none_or(|l| matches(l, false));
        let if_none_match = self
            .etag_does_not_match
            .as_ref()
            .is_none_or(|l| !matches(l, true));
        let if_modified_since = self
            .uploaded_after
            .is_none_or(|t| trunc(t) < uploaded || self.etag_does_not_match.is_some());
        let if_unmodified_since = self
            .uploaded_before
            .is_none_or(|t| uploaded < trunc(t) || self.etag_matches.is_some());
        if_match && if_none_match && if_modified_since && if_unmodified_since
    }

    /// `{"etagMatches": ["<etag>" | "W/<etag>" | "*", ...], "etagDoesNotMatch": [...],
    /// "uploadedBefore": <ms>, "uploadedAfter": <ms>, "secondsGranularity": bool}`.
    pub fn to_json(&self) -> Value {
        let list = |l: &Option<Vec<R2Etag>>| {
            l.as_ref()
                .map(|l| Value::Array(l.iter().map(R2Etag::to_json).collect()))
        };
        let mut m = Map::new();
        if let Some(v) = list(&self.etag_matches) {
            m.insert("etagMatches".into(), v);
        }
        if let Some(v) = list(&self.etag_does_not_match) {
            m.insert("etagDoesNotMatch".into(), v);
        }
        if let Some(t) = self.uploaded_before {
            m.insert("uploadedBefore".into(), json!(t));
        }
        if let Some(t) = self.uploaded_after {
            m.insert("uploadedAfter".into(), json!(t));
        }
        m.insert("secondsGranularity".into(), json!(self.seconds_granularity));
        Value::Object(m)
    }

    pub fn from_json(v: &Value) -> R2Conditional {
        let list = |k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(R2Etag::from_json).collect())
        };
        R2Conditional {
            etag_matches: list("etagMatches"),
            etag_does_not_match: list("etagDoesNotMatch"),
            uploaded_before: v.get("uploadedBefore").and_then(Value::as_f64),
            uploaded_after: v.get("uploadedAfter").and_then(Value::as_f64),
            seconds_granularity: v
                .get("secondsGranularity")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

// ---------------------------------------------------------------------- ranges

/// The part of an object a `get` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum R2RangeRequest {
    /// From `offset` (default 0), `length` bytes (default: to the end).
    Bounds {
        offset: Option<u64>,
        length: Option<u64>,
    },
    /// The last `n` bytes.
    Suffix(u64),
}

/// A range resolved against an object's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct R2Range {
    pub offset: u64,
    pub length: u64,
}

impl R2RangeRequest {
    /// The bytes this request covers in an object of `size` bytes: lengths past the end are
    /// cut, a suffix longer than the object is the whole object, and an offset past the end
    /// is [`errors::invalid_range`].
    pub fn resolve(&self, size: u64) -> Result<R2Range, HostError> {
        match *self {
            R2RangeRequest::Suffix(n) => {
                let length = n.min(size);
                Ok(R2Range {
                    offset: size - length,
                    length,
                })
            }
            R2RangeRequest::Bounds { offset, length } => {
                let offset = offset.unwrap_or(0);
                if offset > size || (offset == size && size > 0) {
                    return Err(errors::invalid_range());
                }
                let rest = size - offset;
                Ok(R2Range {
                    offset,
                    length: length.map_or(rest, |l| l.min(rest)),
                })
            }
        }
    }

    /// `{"offset": n, "length": n}` (either may be absent) or `{"suffix": n}`.
    pub fn to_json(&self) -> Value {
        match *self {
            R2RangeRequest::Suffix(n) => json!({ "suffix": n }),
            R2RangeRequest::Bounds { offset, length } => {
                let mut m = Map::new();
                if let Some(o) = offset {
                    m.insert("offset".into(), json!(o));
                }
                if let Some(l) = length {
                    m.insert("length".into(), json!(l));
                }
                Value::Object(m)
            }
        }
    }

    pub fn from_json(v: &Value) -> R2RangeRequest {
        match v.get("suffix").and_then(Value::as_u64) {
            Some(n) => R2RangeRequest::Suffix(n),
            None => R2RangeRequest::Bounds {
                offset: v.get("offset").and_then(Value::as_u64),
                length: v.get("length").and_then(Value::as_u64),
            },
        }
    }
}

// ---------------------------------------------------------------------- checksums

enum Extra {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

/// Hashes an object's bytes as they stream by: always MD5 (the etag), plus the one SHA a `put`
/// asked for. [`R2Hasher::finish`] checks them against what the worker said to expect.
pub struct R2Hasher {
    md5: md5::Md5,
    extra: Option<Extra>,
    expected: R2Checksums,
}

impl R2Hasher {
    pub fn new(expected: &R2Checksums) -> R2Hasher {
        let extra = if expected.sha1.is_some() {
            Some(Extra::Sha1(Default::default()))
        } else if expected.sha256.is_some() {
            Some(Extra::Sha256(Default::default()))
        } else if expected.sha384.is_some() {
            Some(Extra::Sha384(Default::default()))
        } else if expected.sha512.is_some() {
            Some(Extra::Sha512(Default::default()))
        } else {
            None
        };
        R2Hasher {
            md5: Default::default(),
            extra,
            expected: expected.clone(),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        match &mut self.extra {
            Some(Extra::Sha1(h)) => h.update(bytes),
            Some(Extra::Sha256(h)) => h.update(bytes),
            Some(Extra::Sha384(h)) => h.update(bytes),
            Some(Extra::Sha512(h)) => h.update(bytes),
            None => {}
        }
    }

    /// The checksums of everything hashed, or [`errors::bad_digest`] for the first expected
    /// one that differs.
    pub fn finish(self) -> Result<R2Checksums, HostError> {
        let mut got = R2Checksums {
            md5: Some(self.md5.finalize().to_vec()),
            ..Default::default()
        };
        match self.extra {
            Some(Extra::Sha1(h)) => got.sha1 = Some(h.finalize().to_vec()),
            Some(Extra::Sha256(h)) => got.sha256 = Some(h.finalize().to_vec()),
            Some(Extra::Sha384(h)) => got.sha384 = Some(h.finalize().to_vec()),
            Some(Extra::Sha512(h)) => got.sha512 = Some(h.finalize().to_vec()),
            None => {}
        }
        let names = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];
        for ((name, want), have) in names.iter().zip(self.expected.fields()).zip(got.fields()) {
            if let (Some(want), Some(have)) = (want, have)
                && want != have
            {
                return Err(errors::bad_digest(name, want, have));
            }
        }
        Ok(got)
    }
}

struct Verifying {
    inner: Body,
    hasher: Option<R2Hasher>,
}

#[async_trait]
impl BodyReader for Verifying {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        let chunk = self.inner.next_chunk().await?;
        match (&chunk, &mut self.hasher) {
            (Some(c), Some(h)) => h.update(c),
            (None, h) => {
                if let Some(h) = h.take() {
                    h.finish()?;
                }
            }
            _ => {}
        }
        Ok(chunk)
    }
}

/// `body`, failing at its end with [`errors::bad_digest`] when its bytes do not have the
/// `expected` checksums: a store that only commits what it read to the end never keeps them.
pub fn verifying(body: Body, expected: &R2Checksums) -> Body {
    if expected == &R2Checksums::default() {
        return body;
    }
    Box::new(Verifying {
        inner: body,
        hasher: Some(R2Hasher::new(expected)),
    })
}

/// The etag of a multipart object: MD5 of the parts' binary MD5s, then `-<number of parts>`.
pub fn multipart_etag(part_md5s: &[Vec<u8>]) -> String {
    let mut h = md5::Md5::new();
    for m in part_md5s {
        h.update(m);
    }
    format!("{}-{}", hex(&h.finalize()), part_md5s.len())
}

// ---------------------------------------------------------------------- operations

/// `get`'s options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R2GetOptions {
    pub only_if: Option<R2Conditional>,
    pub range: Option<R2RangeRequest>,
}

impl R2GetOptions {
    /// `{"onlyIf": <conditional>, "range": <range>}`, both optional.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(c) = &self.only_if {
            m.insert("onlyIf".into(), c.to_json());
        }
        if let Some(r) = &self.range {
            m.insert("range".into(), r.to_json());
        }
        Value::Object(m)
    }

    pub fn from_json(v: &Value) -> R2GetOptions {
        R2GetOptions {
            only_if: v
                .get("onlyIf")
                .filter(|c| c.is_object())
                .map(R2Conditional::from_json),
            range: v
                .get("range")
                .filter(|r| r.is_object())
                .map(R2RangeRequest::from_json),
        }
    }
}

/// What `get` found.
pub enum R2GetResult {
    /// No object under the key.
    NotFound,
    /// The object exists but `onlyIf` does not hold: the worker gets it without a body.
    PreconditionFailed(R2Object),
    /// The object and the bytes of `range`, which `body` streams.
    Found {
        object: R2Object,
        range: R2Range,
        body: Body,
    },
}

/// `put`'s options, validated by the runtime.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R2PutOptions {
    pub only_if: Option<R2Conditional>,
    pub http_metadata: R2HttpMetadata,
    pub custom_metadata: BTreeMap<String, String>,
    /// Checksums the bytes must have (at most one besides nothing).
    pub checksums: R2Checksums,
    pub storage_class: String,
    /// The body's length in bytes (R2 needs it up front).
    pub size: u64,
}

impl R2PutOptions {
    /// `{"onlyIf", "httpMetadata", "customMetadata", "checksums", "storageClass", "size"}`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "httpMetadata": self.http_metadata.to_json(),
            "customMetadata": self.custom_metadata,
            "checksums": self.checksums.to_json(),
            "storageClass": self.storage_class,
            "size": self.size,
        });
        if let Some(c) = &self.only_if {
            v["onlyIf"] = c.to_json();
        }
        v
    }

    pub fn from_json(v: &Value) -> Result<R2PutOptions, HostError> {
        Ok(R2PutOptions {
            only_if: v
                .get("onlyIf")
                .filter(|c| c.is_object())
                .map(R2Conditional::from_json),
            http_metadata: v
                .get("httpMetadata")
                .map(R2HttpMetadata::from_json)
                .unwrap_or_default(),
            custom_metadata: string_map(v.get("customMetadata")),
            checksums: v
                .get("checksums")
                .map(R2Checksums::from_json)
                .transpose()?
                .unwrap_or_default(),
            storage_class: v
                .get("storageClass")
                .and_then(Value::as_str)
                .unwrap_or("Standard")
                .to_string(),
            size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        })
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// `list`'s options, validated by the runtime.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct R2ListOptions {
    /// Objects plus delimited prefixes per page, 1..=1000.
    pub limit: usize,
    pub prefix: String,
    /// The `cursor` of the previous page.
    pub cursor: Option<String>,
    /// Keys with this after the prefix are rolled up into `delimited_prefixes`.
    pub delimiter: Option<String>,
    /// Only keys after this one.
    pub start_after: Option<String>,
    /// Whether objects carry their httpMetadata / customMetadata (empty otherwise).
    pub include_http_metadata: bool,
    pub include_custom_metadata: bool,
}

impl R2ListOptions {
    /// `{"limit", "prefix", "cursor", "delimiter", "startAfter", "include": [...]}`.
    pub fn to_json(&self) -> Value {
        let mut include = Vec::new();
        if self.include_http_metadata {
            include.push("httpMetadata");
        }
        if self.include_custom_metadata {
            include.push("customMetadata");
        }
        json!({
            "limit": self.limit,
            "prefix": self.prefix,
            "cursor": self.cursor,
            "delimiter": self.delimiter,
            "startAfter": self.start_after,
            "include": include,
        })
    }

    pub fn from_json(v: &Value) -> R2ListOptions {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let include: Vec<&str> = v
            .get("include")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        R2ListOptions {
            limit: v
                .get("limit")
                .and_then(Value::as_u64)
                .map_or(1000, |l| l.clamp(1, 1000) as usize),
            prefix: s("prefix").unwrap_or_default(),
            cursor: s("cursor"),
            delimiter: s("delimiter").filter(|d| !d.is_empty()),
            start_after: s("startAfter"),
            include_http_metadata: include.contains(&"httpMetadata"),
            include_custom_metadata: include.contains(&"customMetadata"),
        }
    }
}

/// One page of `list`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R2Objects {
    /// In UTF-8 byte order of their keys.
    pub objects: Vec<R2Object>,
    pub delimited_prefixes: Vec<String>,
    pub truncated: bool,
    /// Where the next page starts; only meaningful while `truncated`.
    pub cursor: Option<String>,
}

impl R2Objects {
    /// `{"objects": [<object>...], "delimitedPrefixes": [...], "truncated": bool, "cursor"?}`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "objects": self.objects.iter().map(R2Object::to_json).collect::<Vec<_>>(),
            "delimitedPrefixes": self.delimited_prefixes,
            "truncated": self.truncated,
        });
        if let Some(c) = self.cursor.as_ref().filter(|_| self.truncated) {
            v["cursor"] = json!(c);
        }
        v
    }

    pub fn from_json(v: &Value) -> Result<R2Objects, HostError> {
        let objects = v
            .get("objects")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("list result: `objects` must be an array"))?
            .iter()
            .map(R2Object::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(R2Objects {
            objects,
            delimited_prefixes: v
                .get("delimitedPrefixes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| Some(p.as_str()?.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            truncated: v.get("truncated").and_then(Value::as_bool).unwrap_or(false),
            cursor: v.get("cursor").and_then(Value::as_str).map(str::to_string),
        })
    }
}

/// `createMultipartUpload`'s options: what the completed object will carry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R2MultipartOptions {
    pub http_metadata: R2HttpMetadata,
    pub custom_metadata: BTreeMap<String, String>,
    pub storage_class: String,
}

impl R2MultipartOptions {
    /// `{"httpMetadata", "customMetadata", "storageClass"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "httpMetadata": self.http_metadata.to_json(),
            "customMetadata": self.custom_metadata,
            "storageClass": self.storage_class,
        })
    }

    pub fn from_json(v: &Value) -> R2MultipartOptions {
        R2MultipartOptions {
            http_metadata: v
                .get("httpMetadata")
                .map(R2HttpMetadata::from_json)
                .unwrap_or_default(),
            custom_metadata: string_map(v.get("customMetadata")),
            storage_class: v
                .get("storageClass")
                .and_then(Value::as_str)
                .unwrap_or("Standard")
                .to_string(),
        }
    }
}

/// A part as `uploadPart` reported it and `complete` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct R2UploadedPart {
    pub part_number: u32,
    pub etag: String,
}

impl R2UploadedPart {
    pub fn list_from_json(v: &Value) -> Result<Vec<R2UploadedPart>, HostError> {
        v.as_array()
            .ok_or_else(|| bad("parts: expected an array"))?
            .iter()
            .map(|p| {
                Ok(R2UploadedPart {
                    part_number: p
                        .get("partNumber")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| bad("part: `partNumber` must be a number"))?
                        as u32,
                    etag: p
                        .get("etag")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad("part: `etag` must be a string"))?
                        .to_string(),
                })
            })
            .collect()
    }

    pub fn list_to_json(parts: &[R2UploadedPart]) -> Value {
        Value::Array(
            parts
                .iter()
                .map(|p| json!({ "partNumber": p.part_number, "etag": p.etag }))
                .collect(),
        )
    }
}

/// An R2 bucket's storage. Methods may complete on any thread; errors reject the worker's
/// promise with `"<method>: <message>"` (use [`errors`] for Cloudflare's coded texts). The
/// runtime validates keys, options and limits before calling.
#[async_trait]
pub trait R2Store: Send + Sync {
    async fn head(&self, key: &str) -> Result<Option<R2Object>, HostError>;

    /// The object (or the part `options.range` names) with a body to stream; `onlyIf` is
    /// evaluated against the object read, with [`R2Conditional::holds`].
    async fn get(&self, key: &str, options: R2GetOptions) -> Result<R2GetResult, HostError>;

    /// Stores `body` (`options.size` bytes) under `key` if `options.only_if` holds for the
    /// current object at commit time; `Ok(None)` when it does not. `body` must be read to its
    /// end and an error from it must leave the bucket unchanged (that is how checksum
    /// mismatches and abandoned uploads fail; see [`R2Hasher`] and [`verifying`]).
    async fn put(
        &self,
        key: &str,
        body: Body,
        options: R2PutOptions,
    ) -> Result<Option<R2Object>, HostError>;

    /// Deletes each key; missing keys are fine.
    async fn delete(&self, keys: &[String]) -> Result<(), HostError>;

    async fn list(&self, options: R2ListOptions) -> Result<R2Objects, HostError>;

    /// Starts a multipart upload; returns its upload id.
    async fn create_multipart_upload(
        &self,
        _key: &str,
        _options: R2MultipartOptions,
    ) -> Result<String, HostError> {
        Err(HostError::new(
            "Multipart uploads are not supported by this bucket.",
        ))
    }

    /// Stores part `part_number` (1..=10000) of `size` bytes, replacing an earlier upload of the
    /// same number. [`errors::no_such_upload`] if the upload is not in progress.
    async fn upload_part(
        &self,
        _key: &str,
        _upload_id: &str,
        _part_number: u32,
        _body: Body,
        _size: u64,
    ) -> Result<R2UploadedPart, HostError> {
        Err(errors::no_such_upload())
    }

    /// Joins `parts` (in part-number order) into the object `key`, per R2's rules: every part
    /// but the last at least [`MIN_PART_SIZE`] and all of one size, the last no larger, each
    /// listed part uploaded with that etag; the etag is [`multipart_etag`].
    async fn complete_multipart_upload(
        &self,
        _key: &str,
        _upload_id: &str,
        _parts: Vec<R2UploadedPart>,
    ) -> Result<R2Object, HostError> {
        Err(errors::no_such_upload())
    }

    /// Discards the upload and its parts; aborting an upload that is gone is fine.
    async fn abort_multipart_upload(&self, _key: &str, _upload_id: &str) -> Result<(), HostError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------- ops

fn store(state: &IsolateState, s: &mut Scope) -> Option<Arc<dyn R2Store>> {
    let store = state.binding(s.to_number(1) as usize).and_then(|b| b.r2());
    if store.is_none() {
        s.throw("Error", "R2 bucket binding is no longer available");
    }
    store
}

fn json_arg(s: &Scope, idx: i32) -> Value {
    if s.is_nullish(idx) {
        return Value::Null;
    }
    serde_json::from_str(&s.to_string(idx)).unwrap_or(Value::Null)
}

fn push_object(s: &mut Scope, o: Option<R2Object>) {
    match o {
        Some(o) => s.push_str(&o.to_json().to_string()),
        None => s.push_null(),
    }
}

/// op_r2_head(callId, binding, key) -> objectJson | null
pub(super) fn op_r2_head(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let key = s.to_string(2);
    host::spawn(state, s, async move { r2.head(&key).await }, push_object);
}

/// op_r2_get(callId, binding, key, optionsJson) -> null | [objectJson] (precondition failed) |
/// [objectJson, rangeOffset, rangeLength, bodyHandle]
pub(super) fn op_r2_get(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let key = s.to_string(2);
    let options = R2GetOptions::from_json(&json_arg(s, 3));
    let bodies = state.bodies.clone();
    let invocation = state.current_invocation();
    host::spawn(
        state,
        s,
        async move { r2.get(&key, options).await },
        move |s, r| match r {
            R2GetResult::NotFound => s.push_null(),
            R2GetResult::PreconditionFailed(o) => {
                s.push_str(&o.to_json().to_string());
                s.push_array(1);
            }
            R2GetResult::Found {
                object,
                range,
                body,
            } => {
                let handle = bodies.add_reader(invocation, body);
                s.push_str(&object.to_json().to_string());
                s.push_number(range.offset as f64);
                s.push_number(range.length as f64);
                s.push_number(handle as f64);
                s.push_array(4);
            }
        },
    );
}

/// op_r2_put(callId, binding, key, optionsJson, bytes | null, sinkHandle | null)
/// -> objectJson | null (precondition failed)
pub(super) fn op_r2_put(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let key = s.to_string(2);
    let options = match R2PutOptions::from_json(&json_arg(s, 3)) {
        Ok(o) => o,
        Err(e) => return s.throw("TypeError", &e.message),
    };
    let body = body_arg(state, s, 4, 5);
    host::spawn(
        state,
        s,
        async move { r2.put(&key, body, options).await },
        push_object,
    );
}

/// op_r2_delete(callId, binding, keys)
pub(super) fn op_r2_delete(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let keys = s.to_strings(2);
    host::spawn(state, s, async move { r2.delete(&keys).await }, |s, ()| {
        s.push_undefined()
    });
}

/// op_r2_list(callId, binding, optionsJson) -> resultJson
pub(super) fn op_r2_list(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let options = R2ListOptions::from_json(&json_arg(s, 2));
    host::spawn(
        state,
        s,
        async move { r2.list(options).await },
        |s, list| s.push_str(&list.to_json().to_string()),
    );
}

/// op_r2_create_multipart(callId, binding, key, optionsJson) -> uploadId
pub(super) fn op_r2_create_multipart(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let key = s.to_string(2);
    let options = R2MultipartOptions::from_json(&json_arg(s, 3));
    host::spawn(
        state,
        s,
        async move { r2.create_multipart_upload(&key, options).await },
        |s, id| s.push_str(&id),
    );
}

/// op_r2_upload_part(callId, binding, key, uploadId, partNumber, size, bytes | null,
/// sinkHandle | null) -> etag
pub(super) fn op_r2_upload_part(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let key = s.to_string(2);
    let upload_id = s.to_string(3);
    let part_number = s.to_number(4) as u32;
    let size = s.to_number(5) as u64;
    let body = body_arg(state, s, 6, 7);
    host::spawn(
        state,
        s,
        async move {
            r2.upload_part(&key, &upload_id, part_number, body, size)
                .await
        },
        |s, part| s.push_str(&part.etag),
    );
}

/// op_r2_complete_multipart(callId, binding, key, uploadId, partsJson) -> objectJson
pub(super) fn op_r2_complete_multipart(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let key = s.to_string(2);
    let upload_id = s.to_string(3);
    let parts = R2UploadedPart::list_from_json(&json_arg(s, 4));
    host::spawn(
        state,
        s,
        async move { r2.complete_multipart_upload(&key, &upload_id, parts?).await },
        |s, o| push_object(s, Some(o)),
    );
}

/// op_r2_abort_multipart(callId, binding, key, uploadId)
pub(super) fn op_r2_abort_multipart(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(r2) = store(state, s) else { return };
    let key = s.to_string(2);
    let upload_id = s.to_string(3);
    host::spawn(
        state,
        s,
        async move { r2.abort_multipart_upload(&key, &upload_id).await },
        |s, ()| s.push_undefined(),
    );
}
