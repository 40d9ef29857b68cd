//! The Cache API (`caches.default`, `caches.open(name)`): the store interface a host implements,
//! the HTTP rules that decide what `put` keeps and how a kept response answers `match`, and the
//! ops behind `Cache` (`cache.js`).
//!
//! All HTTP policy lives here, once, so a host's store is plain keyed storage: it keeps what it is
//! given under (cache name, URL) until the entry's `expires_at`. The runtime decides what may be
//! stored (Cache-Control, Expires, Set-Cookie, Cloudflare's default TTL by status) and answers
//! conditional (`If-None-Match`, `If-Modified-Since`) and `Range` requests from the stored entry.
//! The checks that throw (non-GET, 206, `Vary: *`, error responses...) are in `cache.js`.
use super::host::{self, HostError};
use crate::engine::worker::IsolateState;
use crate::v8::Scope;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A response as a cache keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CachedResponse {
    pub status: u16,
    /// Header pairs in order, names lower-case; repeated names stay separate entries.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the entry stops being fresh, in milliseconds since the UNIX epoch. A store must not
    /// return it from `get` afterwards (the runtime treats an expired entry as a miss anyway) and
    /// may drop it at any time, as any cache may evict.
    pub expires_at: u64,
}

/// Storage behind `caches.default` and `caches.open(name)`. `cache` is `None` for
/// `caches.default` and `Some(name)` for a cache opened by name (a different cache from the
/// default, even for the name `"default"`); `url` is the absolute request URL the entry is kept
/// under, without its fragment. Methods may complete on any thread; an error rejects the worker's
/// promise with its message.
///
/// The runtime calls `put` only with responses that may be stored and have a future
/// `expires_at`; a store keeps them as given (it may decline or evict an entry at any time, as a
/// cache may).
#[async_trait]
pub trait CacheStore: Send + Sync {
    /// The live entry for `url` (`cache.match`), or `None`.
    async fn get(
        &self,
        cache: Option<&str>,
        url: &str,
    ) -> Result<Option<CachedResponse>, HostError>;
    /// Stores `response` for `url`, replacing any entry there.
    async fn put(
        &self,
        cache: Option<&str>,
        url: &str,
        response: CachedResponse,
    ) -> Result<(), HostError>;
    /// Removes the entry for `url`; true if there was a live one.
    async fn delete(&self, cache: Option<&str>, url: &str) -> Result<bool, HostError>;
}

impl CachedResponse {
    /// Whether a store's answer can become a `Response`: a status from 200 to 599, header names
    /// that are HTTP tokens and values without NUL, CR or LF. The runtime checks every entry a
    /// store returns, so a bad one rejects the worker's promise instead of reaching a client.
    pub fn check(&self) -> Result<(), String> {
        if !(200..=599).contains(&self.status) {
            return Err(format!("status {} is not between 200 and 599", self.status));
        }
        let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(token) {
                return Err(format!("header name {name:?} is not valid"));
            }
            if value.bytes().any(|c| matches!(c, 0 | b'\r' | b'\n')) {
                return Err(format!("the value of header {name:?} is not valid"));
            }
        }
        Ok(())
    }
}

/// Milliseconds since the UNIX epoch, the unit of `CachedResponse::expires_at`.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ------------------------------------------------------------------ what put stores

/// Cloudflare's edge TTL for a response without `Cache-Control` lifetime or `Expires`
/// (developers.cloudflare.com/cache/how-to/configure-cache-status-code): other statuses are not
/// cached by default.
fn default_ttl(status: u16) -> Option<u64> {
    match status {
        200 | 206 | 301 => Some(120 * 60),
        302 | 303 => Some(20 * 60),
        404 | 410 => Some(3 * 60),
        _ => None,
    }
}

/// The response directives of `Cache-Control` that matter to a shared cache.
#[derive(Default, Debug)]
struct Directives {
    no_store: bool,
    /// Unqualified `private`: the whole response is unstorable.
    private: bool,
    /// `no-cache`, with or without a field list (Miniflare refuses both): unstorable.
    no_cache: bool,
    /// Header names listed by `private="..."`: those headers are removed and the rest stored.
    strip: Vec<String>,
    max_age: Option<u64>,
    s_maxage: Option<u64>,
}

/// Splits `value` at commas outside double quotes.
fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

fn parse_seconds(v: Option<&str>) -> Option<u64> {
    let v = v?.trim_matches('"');
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Lifetimes beyond u64 seconds are "forever"; saturate instead of rejecting.
    Some(v.parse().unwrap_or(u64::MAX))
}

fn parse_cache_control(value: &str) -> Directives {
    let mut d = Directives::default();
    for part in split_outside_quotes(value) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, arg) = match part.split_once('=') {
            Some((n, a)) => (n.trim().to_ascii_lowercase(), Some(a.trim())),
            None => (part.to_ascii_lowercase(), None),
        };
        let fields = |arg: &str| -> Vec<String> {
            arg.trim_matches('"')
                .split(',')
                .map(|f| f.trim().to_ascii_lowercase())
                .filter(|f| !f.is_empty())
                .collect()
        };
        match (name.as_str(), arg) {
            ("no-store", _) => d.no_store = true,
            ("private", None) => d.private = true,
            ("no-cache", _) => d.no_cache = true,
            ("private", Some(a)) => d.strip.extend(fields(a)),
            // The first occurrence of a lifetime wins, as with a duplicated header field.
            ("max-age", a) if d.max_age.is_none() => d.max_age = parse_seconds(a),
            ("s-maxage", a) if d.s_maxage.is_none() => d.s_maxage = parse_seconds(a),
            _ => {}
        }
    }
    d
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of `name` joined with ", ", as a list-valued header reads.
fn joined(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

fn http_date_ms(value: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    Some(
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    )
}

/// What `cache.put` stores for a response, by Cloudflare's rules, at time `now_ms`; `None` when
/// the response is silently not stored (put still resolves).
///
/// - `no-store`, `private` and `no-cache` make it unstorable; `private="Set-Cookie"` (or any
///   field list after `private=`) removes those headers and stores the rest.
/// - A remaining `Set-Cookie` makes it unstorable.
/// - Lifetime: `s-maxage`, else `max-age`, else `Expires` (relative to `Date` when present),
///   else Cloudflare's default TTL by status (200/206/301: 2 h, 302/303: 20 min, 404/410: 3 min,
///   others not cached); less the response's `Age`. A lifetime of zero is not stored.
///
/// The request's own `Cache-Control` plays no part. `stale-while-revalidate` and
/// `stale-if-error` are ignored, as on Cloudflare.
pub fn prepare_put(
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    now_ms: u64,
) -> Option<CachedResponse> {
    let cc = joined(&headers, "cache-control")
        .map(|v| parse_cache_control(&v))
        .unwrap_or_default();
    if cc.no_store || cc.private || cc.no_cache {
        return None;
    }
    let headers: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, _)| !cc.strip.contains(k))
        .collect();
    if header(&headers, "set-cookie").is_some() {
        return None;
    }
    let ttl_ms: u64 = if let Some(s) = cc.s_maxage.or(cc.max_age) {
        s.saturating_mul(1000)
    } else if let Some(expires) = header(&headers, "expires") {
        // An invalid Expires (such as "0") means "already expired" (RFC 9111 §5.3).
        let at = http_date_ms(expires).unwrap_or(0);
        let base = header(&headers, "date")
            .and_then(http_date_ms)
            .unwrap_or(now_ms);
        at.saturating_sub(base)
    } else {
        default_ttl(status)?.saturating_mul(1000)
    };
    let age_ms = parse_seconds(header(&headers, "age")).map_or(0, |a| a.saturating_mul(1000));
    let ttl_ms = ttl_ms.saturating_sub(age_ms);
    if ttl_ms == 0 {
        return None;
    }
    Some(CachedResponse {
        status,
        headers,
        body,
        expires_at: now_ms.saturating_add(ttl_ms),
    })
}

// ------------------------------------------------------------------ how match answers

/// The request headers `cache.match` honours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchConditions {
    pub range: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

/// The response `cache.match` gives for a stored entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `None` for a 304.
    pub body: Option<Vec<u8>>,
}

/// Weak comparison (RFC 9110 §8.8.3.2): the opaque tags equal, ignoring `W/`.
fn etag_matches(list: &str, etag: Option<&str>) -> bool {
    let strip = |t: &str| -> String {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t).to_string()
    };
    if list.trim() == "*" {
        return true;
    }
    let Some(etag) = etag.map(strip) else {
        return false;
    };
    split_outside_quotes(list)
        .into_iter()
        .any(|t| strip(t) == etag)
}

/// One satisfiable byte range `[start, end]` of `len` bytes; `Err(())` when the range cannot be
/// satisfied; `Ok(None)` when the header is malformed or asks for several ranges, which a
/// server may answer with the whole representation.
fn parse_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (a.trim().is_empty(), num(a), num(b)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || len == 0 {
                Err(())
            } else {
                Ok(Some((len - n.min(len), len - 1)))
            }
        }
        // bytes=A- or bytes=A-B.
        (false, Some(start), end) if b.trim().is_empty() || end.is_some() => {
            if end.is_some_and(|e| e < start) {
                return Ok(None);
            }
            if start >= len {
                return Err(());
            }
            Ok(Some((start, end.map_or(len - 1, |e| e.min(len - 1)))))
        }
        _ => Ok(None),
    }
}

/// How a stored entry answers a `cache.match` request: a 304 for a matching `If-None-Match`
/// (or, without it, an `If-Modified-Since` not before `Last-Modified`), a 206 slice with
/// `Content-Range` for a single satisfiable `Range` (416 when it cannot be satisfied), otherwise
/// the stored response. Every answer carries `CF-Cache-Status: HIT`.
pub fn answer(entry: CachedResponse, cond: &MatchConditions) -> MatchAnswer {
    let CachedResponse {
        status,
        mut headers,
        body,
        ..
    } = entry;
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cf-cache-status"));
    headers.push(("cf-cache-status".into(), "HIT".into()));
    let without_length = |mut h: Vec<(String, String)>| {
        h.retain(|(k, _)| !k.eq_ignore_ascii_case("content-length"));
        h
    };

    if (200..300).contains(&status) {
        let not_modified = match (&cond.if_none_match, &cond.if_modified_since) {
            (Some(inm), _) => etag_matches(inm, header(&headers, "etag")),
            (None, Some(ims)) => match (
                http_date_ms(ims),
                header(&headers, "last-modified").and_then(http_date_ms),
            ) {
                (Some(since), Some(modified)) => modified <= since,
                _ => false,
            },
            (None, None) => false,
        };
        if not_modified {
            return MatchAnswer {
                status: 304,
                headers: without_length(headers),
                body: None,
            };
        }
    }

    if status == 200
        && let Some(range) = &cond.range
    {
        let len = body.len() as u64;
        match parse_range(range, len) {
            Ok(Some((start, end))) => {
                let mut headers = without_length(headers);
                headers.push(("content-range".into(), format!("bytes {start}-{end}/{len}")));
                return MatchAnswer {
                    status: 206,
                    headers,
                    body: Some(body[start as usize..=end as usize].to_vec()),
                };
            }
            Err(()) => {
                let mut headers = without_length(headers);
                headers.push(("content-range".into(), format!("bytes */{len}")));
                return MatchAnswer {
                    status: 416,
                    headers,
                    body: Some(Vec::new()),
                };
            }
            Ok(None) => {}
        }
    }

    MatchAnswer {
        status,
        headers,
        body: Some(body),
    }
}

// ------------------------------------------------------------------ ops

fn store(state: &IsolateState, s: &mut Scope) -> Option<Arc<dyn CacheStore>> {
    let store = state.cache_store();
    if store.is_none() {
        s.throw("Error", "The Cache API is not available here.");
    }
    store
}

fn optional_string(s: &Scope, idx: i32) -> Option<String> {
    (!s.is_nullish(idx)).then(|| s.to_string(idx))
}

fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// op_cache_match(callId, cacheName | null, url, range | null, ifNoneMatch | null,
/// ifModifiedSince | null) -> null | [status, headersFlat, body | null]
pub(super) fn op_cache_match(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(cache) = store(state, s) else { return };
    let name = optional_string(s, 1);
    let url = s.to_string(2);
    let cond = MatchConditions {
        range: optional_string(s, 3),
        if_none_match: optional_string(s, 4),
        if_modified_since: optional_string(s, 5),
    };
    host::spawn(
        state,
        s,
        async move {
            let entry = cache.get(name.as_deref(), &url).await?;
            // Expiry is enforced here too, so a store that keeps stale entries never serves them.
            let Some(mut entry) = entry.filter(|e| e.expires_at > now_ms()) else {
                return Ok(None);
            };
            entry.check().map_err(|e| {
                HostError::new(format!("the cache store returned a bad entry: {e}"))
            })?;
            for (k, _) in &mut entry.headers {
                k.make_ascii_lowercase();
            }
            Ok(Some(answer(entry, &cond)))
        },
        |s, answer| match answer {
            None => s.push_null(),
            Some(a) => {
                s.push_number(a.status as f64);
                let n = a.headers.len() as i32 * 2;
                for (k, v) in &a.headers {
                    s.push_str(k);
                    s.push_str(v);
                }
                s.push_array(n);
                match &a.body {
                    Some(b) => s.push_bytes(b),
                    None => s.push_null(),
                }
                s.push_array(3);
            }
        },
    );
}

/// op_cache_put(callId, cacheName | null, url, status, headersFlat, body)
pub(super) fn op_cache_put(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(cache) = store(state, s) else { return };
    let name = optional_string(s, 1);
    let url = s.to_string(2);
    let status = s.to_number(3) as u16;
    let headers = pairs(s.to_strings(4));
    let body = s.bytes(5).map(|b| b.to_vec()).unwrap_or_default();
    let entry = prepare_put(status, headers, body, now_ms());
    host::spawn(
        state,
        s,
        async move {
            match entry {
                Some(e) => cache.put(name.as_deref(), &url, e).await,
                None => Ok(()),
            }
        },
        |s, ()| s.push_undefined(),
    );
}

/// op_cache_delete(callId, cacheName | null, url) -> bool
pub(super) fn op_cache_delete(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(cache) = store(state, s) else { return };
    let name = optional_string(s, 1);
    let url = s.to_string(2);
    host::spawn(
        state,
        s,
        async move { cache.delete(name.as_deref(), &url).await },
        |s, deleted| s.push_bool(deleted),
    );
}
