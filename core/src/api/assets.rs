//! Static assets: the interface a host implements to serve a worker's assets (`env.ASSETS`, a
//! `Fetcher` in `assets.js`), and the router that decides, for a request arriving from outside,
//! whether the assets or the worker answers it (wrangler's `run_worker_first`).
//!
//! The embedded implementation that serves a directory with Cloudflare's `html_handling` and
//! `not_found_handling` rules is `stores::DirAssets`.
use super::host::{self, HostError};
use crate::engine::worker::IsolateState;
use crate::v8::Scope;
use async_trait::async_trait;
use std::sync::Arc;

/// A request for an asset. Only the method, the URL's path and a few headers (`If-None-Match`,
/// `Range`, `Authorization`, `Sec-Fetch-Mode`) matter to Cloudflare's asset server; the host
/// part of the URL is ignored. Headers keep their order and repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssetRequest {
    pub method: String,
    /// Absolute URL, e.g. `https://example.com/docs/?x=1`.
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl AssetRequest {
    /// A GET for `url`.
    pub fn get(url: impl Into<String>) -> Self {
        AssetRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
        }
    }

    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of a header, case-insensitively.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An asset server's answer: the status, headers (`Content-Type`, `ETag`, `Location`, ...) and
/// the whole body (empty for HEAD, 304, 307 and 405).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssetResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl AssetResponse {
    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A worker's static assets, as `env.ASSETS.fetch()` and the router in front of the worker see
/// them. Methods may complete on any thread. An error rejects the worker's promise with its
/// message.
#[async_trait]
pub trait AssetsFetcher: Send + Sync {
    /// Answers a request the way Cloudflare's asset server does: the asset (200), a 307 to the
    /// canonical path, 405 for a method other than GET/HEAD on an asset, 304 when `If-None-Match`
    /// equals the ETag, and for a path with no asset the `not_found_handling` answer (a plain
    /// 404 with `none`).
    async fn fetch(&self, request: AssetRequest) -> Result<AssetResponse, HostError>;

    /// Whether the assets, rather than the worker, should answer a request arriving from
    /// outside when `run_worker_first` does not decide it: true when an asset (or a redirect
    /// to one, or a 405 for one) matches. `not_found_handling` counts only when
    /// `apply_not_found_handling` is true (browser navigations on compatibility dates from
    /// 2025-04-01). The default asks `fetch` and treats anything but a 404 as a match, which is
    /// right for hosts without not-found handling; hosts with it should override this.
    async fn can_fetch(
        &self,
        request: &AssetRequest,
        apply_not_found_handling: bool,
    ) -> Result<bool, HostError> {
        let _ = apply_not_found_handling;
        let mut probe = request.clone();
        // The probe only needs the status; HEAD spares reading the body.
        if probe.method.eq_ignore_ascii_case("GET") {
            probe.method = "HEAD".into();
        }
        Ok(self.fetch(probe).await?.status != 404)
    }
}

/// wrangler's `assets.run_worker_first`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RunWorkerFirst {
    /// `false` (the default): an asset that matches is served without running the worker.
    #[default]
    Never,
    /// `true`: every request runs the worker, which may call `env.ASSETS.fetch()`.
    Always,
    /// An array of route patterns: paths matching `worker` run the worker first, paths matching
    /// `assets` (written with a leading `!`) go straight to the assets even for a miss, and
    /// the `assets` patterns win. Other paths behave as with `false`.
    Patterns {
        worker: Vec<String>,
        assets: Vec<String>,
    },
}

impl RunWorkerFirst {
    /// Splits wrangler's array form: `"!/x/*"` is an assets pattern, anything else a worker one.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Self {
        let mut worker = Vec::new();
        let mut assets = Vec::new();
        for p in patterns {
            let p = p.as_ref();
            match p.strip_prefix('!') {
                Some(rest) => assets.push(rest.to_string()),
                None => worker.push(p.to_string()),
            }
        }
        RunWorkerFirst::Patterns { worker, assets }
    }
}

/// Who answers a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Run the worker (it reaches the assets through its binding).
    Worker,
    /// Answer with `AssetsFetcher::fetch`.
    Assets,
}

/// The routing Cloudflare puts in front of a worker that has assets, for hosts that serve HTTP
/// themselves (`wk serve` uses it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssetsRouter {
    pub run_worker_first: RunWorkerFirst,
    /// False for an assets-only project: everything goes to the assets.
    pub has_worker: bool,
    /// Browser navigations (`Sec-Fetch-Mode: navigate`) apply `not_found_handling` before
    /// falling back to the worker: the `assets_navigation_prefers_asset_serving` compatibility
    /// flag, on by default from 2025-04-01.
    pub navigation_prefers_assets: bool,
}

impl AssetsRouter {
    /// Decides who answers `request`. Only `AssetsFetcher::can_fetch` may be consulted, so a
    /// body the caller still holds is never needed.
    pub async fn route(
        &self,
        assets: &dyn AssetsFetcher,
        request: &AssetRequest,
    ) -> Result<Route, HostError> {
        if !self.has_worker {
            return Ok(Route::Assets);
        }
        match &self.run_worker_first {
            RunWorkerFirst::Always => return Ok(Route::Worker),
            RunWorkerFirst::Patterns { worker, assets } => {
                let path = url_path(&request.url);
                if assets.iter().any(|p| glob_match(p, &path)) {
                    return Ok(Route::Assets);
                }
                if worker.iter().any(|p| glob_match(p, &path)) {
                    return Ok(Route::Worker);
                }
            }
            RunWorkerFirst::Never => {}
        }
        let navigation = self.navigation_prefers_assets
            && request.header_value("sec-fetch-mode") == Some("navigate");
        Ok(if assets.can_fetch(request, navigation).await? {
            Route::Assets
        } else {
            Route::Worker
        })
    }
}

/// The URL's path as sent (still percent-encoded), which is what route patterns match.
fn url_path(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.path().to_string(),
        Err(_) => url.to_string(),
    }
}

/// Whether `path` matches `pattern` as a whole, where `*` stands for any run of characters
/// (slashes included) and everything else is literal: the only syntax `run_worker_first`
/// patterns have.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    let (mut pi, mut si) = (0, 0);
    // Where the last `*` was, and how much of the path it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn fetcher(state: &IsolateState, s: &mut Scope) -> Option<Arc<dyn AssetsFetcher>> {
    let f = state
        .binding(s.to_number(1) as usize)
        .and_then(|b| b.assets());
    if f.is_none() {
        s.throw("Error", "Assets binding is no longer available");
    }
    f
}

fn flat_pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// op_assets_fetch(callId, binding, method, url, headersFlat) -> [status, headersFlat, body]
pub(super) fn op_assets_fetch(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(assets) = fetcher(state, s) else {
        return;
    };
    let request = AssetRequest {
        method: s.to_string(2),
        url: s.to_string(3),
        headers: flat_pairs(s.to_strings(4)),
    };
    host::spawn(
        state,
        s,
        async move { assets.fetch(request).await },
        |s, r| {
            s.push_number(r.status as f64);
            let flat: Vec<&str> = r
                .headers
                .iter()
                .flat_map(|(k, v)| [k.as_str(), v.as_str()])
                .collect();
            s.push_strings(&flat);
            s.push_bytes(&r.body);
            s.push_array(3);
        },
    );
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("/api/*", "/api/x"));
        assert!(glob_match("/api/*", "/api/"));
        assert!(glob_match("/api/*", "/api/a/b"));
        assert!(!glob_match("/api/*", "/api"));
        assert!(glob_match("/admin", "/admin"));
        assert!(!glob_match("/admin", "/admin/users"));
        assert!(glob_match("/*.js", "/a/b.js"));
        assert!(!glob_match("/*.js", "/a/b.jsx"));
        assert!(glob_match("*", "/anything"));
        assert!(glob_match("/a*b*c", "/axxbyyc"));
        assert!(!glob_match("/a*b*c", "/axxbyy"));
    }
}
