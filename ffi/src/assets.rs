//! Static assets served by the host (`wk_assets_vtable_t`), and the embedded directory server.
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use async_trait::async_trait;
use worker_core::HostError;
use worker_core::assets::{AssetRequest, AssetResponse, AssetsFetcher};
use worker_core::stores::{AssetsOptions, DirAssets, HtmlHandling, NotFoundHandling};

use crate::completion::*;
use crate::env::{add_binding, wk_env_t};
use crate::error::*;
use crate::source::{UserData, read_versioned, require_callbacks, wk_user_data_free_cb};

/// One HTTP header: UTF-8 `name[0..name_len]` and `value[0..value_len]`. When libworker hands
/// headers to a callback, both are also NUL-terminated and borrowed for the call only.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_header_t {
    pub name: *const c_char,
    pub name_len: usize,
    pub value: *const c_char,
    pub value_len: usize,
}

/// `assets.html_handling` (`WK_HTML_HANDLING_*`).
pub type wk_html_handling_t = u32;
/// `"auto-trailing-slash"` (wrangler's default): `/about` serves `about.html`, `/blog/` serves
/// `blog/index.html`, other spellings redirect there.
pub const WK_HTML_HANDLING_AUTO_TRAILING_SLASH: wk_html_handling_t = 0;
/// `"force-trailing-slash"`: HTML pages are served at paths ending in `/`.
pub const WK_HTML_HANDLING_FORCE_TRAILING_SLASH: wk_html_handling_t = 1;
/// `"drop-trailing-slash"`: HTML pages are served at paths without a trailing `/`.
pub const WK_HTML_HANDLING_DROP_TRAILING_SLASH: wk_html_handling_t = 2;
/// `"none"`: only exact file paths match.
pub const WK_HTML_HANDLING_NONE: wk_html_handling_t = 3;

/// `assets.not_found_handling` (`WK_NOT_FOUND_*`).
pub type wk_not_found_handling_t = u32;
/// `"none"` (the default): a path with no asset gets a plain 404.
pub const WK_NOT_FOUND_NONE: wk_not_found_handling_t = 0;
/// `"single-page-application"`: `/index.html` with status 200.
pub const WK_NOT_FOUND_SINGLE_PAGE_APPLICATION: wk_not_found_handling_t = 1;
/// `"404-page"`: the nearest `404.html` up the directory tree, with status 404.
pub const WK_NOT_FOUND_404_PAGE: wk_not_found_handling_t = 2;

/// `fetch`: answer the asset request `method` + `url` (absolute; only its path matters) with
/// request headers `headers[0..headers_len]` (`If-None-Match`, `Range`, ... as the worker sent
/// them). Settle `completion` with `wk_completion_resolve_asset` (status, headers, body; no
/// body for HEAD, 304 or redirects), or `wk_completion_reject` on failure: the worker's
/// `env.ASSETS.fetch()` promise then rejects with that message. A missing asset is not a
/// failure: resolve with status 404.
///
/// Called on a libworker executor thread, which other workers share: it must not block. Settle
/// inline when the answer is at hand, or later from any thread. Everything passed is borrowed
/// for the call only.
pub type wk_assets_fetch_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        method: *const c_char,
        method_len: usize,
        url: *const c_char,
        url_len: usize,
        headers: *const wk_header_t,
        headers_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// Static assets the host serves itself (`env.NAME.fetch()` in the worker). Set
/// `struct_size = sizeof(wk_assets_vtable_t)`; later ABI versions only add fields at the end.
/// `fetch` is required. The worker's `fetch` arguments (Request, URL or string) are parsed and
/// redirects followed (unless `redirect: "manual"`) by libworker; the host answers one request
/// at a time, as Cloudflare's asset server would.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_assets_vtable_t {
    pub struct_size: u32,
    pub fetch: wk_assets_fetch_cb,
}

/// An `AssetsFetcher` over the host's vtable.
struct CAssets {
    vtable: wk_assets_vtable_t,
    user_data: UserData,
}

/// `s` followed by a NUL, so hosts may treat it as a C string.
fn c_string(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

#[async_trait]
impl AssetsFetcher for CAssets {
    async fn fetch(&self, request: AssetRequest) -> Result<AssetResponse, HostError> {
        let rx = {
            let method = c_string(&request.method);
            let url = c_string(&request.url);
            let strings: Vec<(Vec<u8>, Vec<u8>)> = request
                .headers
                .iter()
                .map(|(k, v)| (c_string(k), c_string(v)))
                .collect();
            let headers: Vec<wk_header_t> = strings
                .iter()
                .map(|(k, v)| wk_header_t {
                    name: k.as_ptr().cast(),
                    name_len: k.len() - 1,
                    value: v.as_ptr().cast(),
                    value_len: v.len() - 1,
                })
                .collect();
            let (c, rx) = completion_pair();
            let fetch = self.vtable.fetch.expect("validated");
            // SAFETY: the host's callback with its own user_data; every buffer (and the strings
            // the headers point into) lives until the end of this block, past the call.
            unsafe {
                fetch(
                    self.user_data.ptr,
                    method.as_ptr().cast(),
                    method.len() - 1,
                    url.as_ptr().cast(),
                    url.len() - 1,
                    headers.as_ptr(),
                    headers.len(),
                    c,
                )
            };
            rx
        };
        match rx.await.map_err(HostError::from)? {
            Completed::Asset(response) => Ok(response),
            _ => Err(HostError::new(
                "the host's assets fetch must resolve with wk_completion_resolve_asset",
            )),
        }
    }
}

/// Resolves an assets `fetch` with the response: `status` (200-599), headers
/// `headers[0..headers_len]` (copied; NULL is allowed when `headers_len` is 0) and the body
/// `body[0..body_len]` (copied; NULL is allowed when `body_len` is 0). Same rules as
/// `wk_completion_resolve`: exactly once per completion, from any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `c` is NULL or already settled, the status is out of
/// range, a pointer is NULL with a non-zero length, or a header name or value is not valid
/// UTF-8 (the completion then stays outstanding).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_resolve_asset(
    c: *mut wk_completion_t,
    status: u16,
    headers: *const wk_header_t,
    headers_len: usize,
    body: *const u8,
    body_len: usize,
) -> wk_status_t {
    ffi_status(|| {
        if c.is_null() {
            return Err(invalid("completion is NULL"));
        }
        if !(200..=599).contains(&status) {
            return Err(invalid(format!("status {status} is outside 200..599")));
        }
        let pairs: &[wk_header_t] = if headers_len == 0 {
            &[]
        } else if headers.is_null() {
            return Err(invalid("headers is NULL"));
        } else {
            // SAFETY: non-NULL and, per the API contract, `headers_len` readable entries.
            unsafe { std::slice::from_raw_parts(headers, headers_len) }
        };
        let mut out = Vec::with_capacity(pairs.len());
        for h in pairs {
            let name = text(h.name, h.name_len, "header name")?;
            if name.is_empty() {
                return Err(invalid("header name is empty"));
            }
            let value = text(h.value, h.value_len, "header value")?;
            out.push((name.to_string(), value.to_string()));
        }
        let response = AssetResponse {
            status,
            headers: out,
            body: bytes(body, body_len, "body")?.to_vec(),
        };
        if completion_settle(c, Ok(Completed::Asset(response))) {
            Ok(())
        } else {
            Err(invalid(
                "completion was already resolved, rejected or freed (or is not a completion)",
            ))
        }
    })
}

fn add_assets(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    assets: Arc<dyn AssetsFetcher>,
) -> Fallible<()> {
    add_binding(env, name, name_len, |e, name| {
        e.assets.insert(name, assets);
    })
}

/// Binds `name` (UTF-8 `name[0..name_len]`; `env.NAME` in the worker, a `Fetcher`) to static
/// assets the host serves. The vtable is copied. `user_data` is passed to every callback, from
/// libworker's executor threads, so it must be usable from any thread; `user_data_free` (may be
/// NULL) is called exactly once when no env or worker uses the binding any more (possibly on
/// one of libworker's threads), or before this function returns if it fails. Adding a name
/// again replaces the binding. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, an empty or invalid UTF-8 name, a bad
/// `struct_size` or a NULL `fetch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_assets(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    vtable: *const wk_assets_vtable_t,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, move || {
        // SAFETY: the host passes NULL or a readable vtable of `struct_size` bytes (API contract).
        let vtable = unsafe { read_versioned(vtable, "vtable", "wk_assets_vtable_t") }?;
        require_callbacks("wk_assets_vtable_t", &[(vtable.fetch.is_none(), "fetch")])?;
        add_assets(env, name, name_len, Arc::new(CAssets { vtable, user_data }))
    })
}

/// Binds `name` to libworker's embedded asset server over the directory `dir` (UTF-8
/// `dir[0..dir_len]`, which must exist), with wrangler's `html_handling` and
/// `not_found_handling` rules: Cloudflare's redirects (307), ETags and `If-None-Match` (304),
/// HEAD, 405 for other methods on an asset, content types by extension. Files are read when
/// requested, so edits show at once; nothing outside the directory is ever served. Any thread,
/// one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, invalid UTF-8 or an unknown
/// `html_handling` / `not_found_handling` value; `WK_E_NOT_FOUND` if the directory does not
/// exist or is not a directory (the message names it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_assets_default(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    dir: *const c_char,
    dir_len: usize,
    html_handling: wk_html_handling_t,
    not_found_handling: wk_not_found_handling_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let dir = text(dir, dir_len, "dir")?;
        let html_handling = match html_handling {
            WK_HTML_HANDLING_AUTO_TRAILING_SLASH => HtmlHandling::AutoTrailingSlash,
            WK_HTML_HANDLING_FORCE_TRAILING_SLASH => HtmlHandling::ForceTrailingSlash,
            WK_HTML_HANDLING_DROP_TRAILING_SLASH => HtmlHandling::DropTrailingSlash,
            WK_HTML_HANDLING_NONE => HtmlHandling::None,
            other => return Err(invalid(format!("unknown html_handling {other}"))),
        };
        let not_found_handling = match not_found_handling {
            WK_NOT_FOUND_NONE => NotFoundHandling::None,
            WK_NOT_FOUND_SINGLE_PAGE_APPLICATION => NotFoundHandling::SinglePageApplication,
            WK_NOT_FOUND_404_PAGE => NotFoundHandling::NotFoundPage,
            other => return Err(invalid(format!("unknown not_found_handling {other}"))),
        };
        let options = AssetsOptions {
            html_handling,
            not_found_handling,
        };
        let assets = DirAssets::new(dir, options)
            .map_err(|e| wk_error_t::new(WK_E_NOT_FOUND, "notFound", e))?;
        add_assets(env, name, name_len, Arc::new(assets))
    })
}
