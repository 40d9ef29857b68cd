//! The conformance corpus through the C ABI, called the way a C host calls it: each case is
//! opened with `wk_project_open`, every KV namespace its config declares is served by a store
//! implemented here as `wk_kv_vtable_t` callbacks, and each request goes through
//! `wk_project_fetch`. `WK_CONFORMANCE=case_a,case_b` limits the run.
#[path = "../../tests/conformance/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use worker::*;

use harness::{Reply, check};

struct Item {
    value: Vec<u8>,
    metadata: Option<String>,
    expiration: u64,
}

/// The host's KV namespace: a sorted map, with expired keys invisible as the vtable requires.
#[derive(Default)]
struct MemoryKv {
    items: Mutex<BTreeMap<String, Item>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn live(item: &Item) -> bool {
    item.expiration == 0 || item.expiration > now()
}

/// # Safety
/// `p` is valid for `len` bytes (or `len` is 0); `user_data` is a live `MemoryKv`.
unsafe fn args<'a>(user_data: *mut c_void, p: *const c_char, len: usize) -> (&'a MemoryKv, String) {
    // SAFETY: as the function's contract says.
    unsafe {
        let text = match len {
            0 => String::new(),
            _ => String::from_utf8_lossy(std::slice::from_raw_parts(p.cast(), len)).into_owned(),
        };
        (&*user_data.cast::<MemoryKv>(), text)
    }
}

unsafe extern "C" fn kv_get(
    u: *mut c_void,
    key: *const c_char,
    len: usize,
    c: *mut wk_completion_t,
) {
    // SAFETY: libworker passes the user_data registered below and a key of `len` bytes.
    let (kv, key) = unsafe { args(u, key, len) };
    let items = kv.items.lock().unwrap();
    // SAFETY: `c` is the call's one-shot completion, settled exactly once here.
    unsafe {
        match items.get(&key).filter(|i| live(i)) {
            None => wk_completion_resolve_null(c),
            Some(i) => {
                let (m, ml) = i
                    .metadata
                    .as_deref()
                    .map_or((null(), 0), |m| (m.as_ptr().cast(), m.len()));
                wk_completion_resolve_kv(c, i.value.as_ptr(), i.value.len(), m, ml, i.expiration)
            }
        };
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn kv_put(
    u: *mut c_void,
    key: *const c_char,
    len: usize,
    value: *const u8,
    value_len: usize,
    metadata: *const c_char,
    metadata_len: usize,
    expiration: u64,
    c: *mut wk_completion_t,
) {
    // SAFETY: libworker passes valid (ptr, len) pairs, NULL metadata when there is none.
    let (kv, key, value, metadata) = unsafe {
        let (kv, key) = args(u, key, len);
        let value = match value_len {
            0 => Vec::new(),
            _ => std::slice::from_raw_parts(value, value_len).to_vec(),
        };
        let metadata = (!metadata.is_null()).then(|| args(u, metadata, metadata_len).1);
        (kv, key, value, metadata)
    };
    let item = Item {
        value,
        metadata,
        expiration,
    };
    kv.items.lock().unwrap().insert(key, item);
    // SAFETY: the call's completion, settled once.
    unsafe { wk_completion_resolve(c, null(), 0) };
}

unsafe extern "C" fn kv_remove(
    u: *mut c_void,
    key: *const c_char,
    len: usize,
    c: *mut wk_completion_t,
) {
    // SAFETY: as in `kv_get`.
    let (kv, key) = unsafe { args(u, key, len) };
    kv.items.lock().unwrap().remove(&key);
    // SAFETY: the call's completion, settled once.
    unsafe { wk_completion_resolve(c, null(), 0) };
}

unsafe extern "C" fn kv_list(
    u: *mut c_void,
    prefix: *const c_char,
    prefix_len: usize,
    limit: u32,
    cursor: *const c_char,
    cursor_len: usize,
    c: *mut wk_completion_t,
) {
    // SAFETY: as in `kv_get`; the cursor is NULL on the first page.
    let (kv, prefix, cursor) = unsafe {
        let (kv, prefix) = args(u, prefix, prefix_len);
        let cursor = (!cursor.is_null()).then(|| args(u, cursor, cursor_len).1);
        (kv, prefix, cursor)
    };
    let items = kv.items.lock().unwrap();
    // The cursor is the last name of the previous page.
    let mut names = items
        .iter()
        .filter(|(k, i)| k.starts_with(&prefix) && live(i))
        .filter(|(k, _)| cursor.as_ref().is_none_or(|c| k.as_str() > c.as_str()));
    let page: Vec<Value> = names
        .by_ref()
        .take(limit as usize)
        .map(|(k, i)| {
            let mut key = json!({ "name": k });
            if i.expiration != 0 {
                key["expiration"] = json!(i.expiration);
            }
            if let Some(m) = &i.metadata {
                key["metadata"] = serde_json::from_str(m).unwrap_or(Value::Null);
            }
            key
        })
        .collect();
    let complete = names.next().is_none();
    let mut list = json!({ "keys": page, "list_complete": complete });
    if !complete {
        list["cursor"] = list["keys"][limit as usize - 1]["name"].clone();
    }
    let text = list.to_string();
    // SAFETY: the call's completion, settled once, with JSON of `text.len()` bytes.
    unsafe { wk_completion_resolve(c, text.as_ptr(), text.len()) };
}

unsafe extern "C" fn kv_free(u: *mut c_void) {
    // SAFETY: the box handed over in `add_memory_kv`, freed once by libworker.
    drop(unsafe { Box::from_raw(u.cast::<MemoryKv>()) });
}

fn s(x: &str) -> (*const c_char, usize) {
    (x.as_ptr().cast(), x.len())
}

/// Takes an error out-parameter's message and frees it.
fn take_err(e: *mut wk_error_t) -> String {
    if e.is_null() {
        return "(no error object)".into();
    }
    // SAFETY: an error libworker returned, freed exactly once here.
    unsafe {
        let m = CStr::from_ptr(wk_error_message(e))
            .to_string_lossy()
            .into_owned();
        wk_error_free(e);
        m
    }
}

/// The names of the KV namespaces a case's config declares, read through the C ABI.
fn kv_bindings(config: &std::path::Path) -> Result<Vec<String>, String> {
    let path = config.display().to_string();
    let (p, pl) = s(&path);
    let (mut json, mut len, mut err) = (null_mut(), 0, null_mut());
    // SAFETY: valid path, out-parameters owned here; the string is freed below.
    let text = unsafe {
        if wk_config_read_json(p, pl, &mut json, &mut len, &mut err) != WK_OK {
            return Err(take_err(err));
        }
        let t = String::from_utf8_lossy(std::slice::from_raw_parts(json.cast::<u8>(), len))
            .into_owned();
        wk_string_free(json);
        t
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(v["kv_namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["binding"].as_str().map(String::from))
        .collect())
}

/// An env whose KV namespaces are host stores.
fn host_env(names: &[String]) -> *mut wk_env_t {
    let mut env = null_mut();
    // SAFETY: out-parameters owned here; the vtable is copied by libworker and the store box
    // is handed over to it (freed through `kv_free`).
    unsafe {
        assert_eq!(wk_env_new(&mut env, null_mut()), WK_OK);
        let vtable = wk_kv_vtable_t {
            struct_size: size_of::<wk_kv_vtable_t>() as u32,
            get: Some(kv_get),
            put: Some(kv_put),
            remove: Some(kv_remove),
            list: Some(kv_list),
        };
        for name in names {
            let store = Box::into_raw(Box::<MemoryKv>::default()).cast::<c_void>();
            let (n, nl) = s(name);
            let mut err = null_mut();
            let st = wk_env_add_kv(env, n, nl, &vtable, store, Some(kv_free), &mut err);
            assert_eq!(st, WK_OK, "{}", take_err(err));
        }
    }
    env
}

/// Sends one corpus request through `wk_project_fetch` and reads the whole response back.
fn fetch(project: *const wk_project_t, r: &Value) -> Result<Reply, String> {
    let headers = harness::request_headers(r)?;
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or("127.0.0.1:8787".to_string(), |(_, v)| v.clone());
    let url = format!("http://{host}{}", r["path"].as_str().unwrap_or("/"));
    let method = r["method"].as_str().unwrap_or("GET");
    // SAFETY: every pointer is valid for its length; the request and response are owned here
    // and freed before returning.
    unsafe {
        let (mut req, mut err) = (null_mut(), null_mut());
        let ((m, ml), (u, ul)) = (s(method), s(&url));
        if wk_request_new(m, ml, u, ul, &mut req, &mut err) != WK_OK {
            return Err(take_err(err));
        }
        let with_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
        let default_host = [("host".to_string(), host.clone())];
        let extra: &[(String, String)] = if with_host { &[] } else { &default_host };
        for (k, v) in headers.iter().chain(extra) {
            let ((k, kl), (v, vl)) = (s(k), s(v));
            assert_eq!(wk_request_add_header(req, k, kl, v, vl, null_mut()), WK_OK);
        }
        if let Some(b) = r["body"].as_str() {
            assert_eq!(
                wk_request_set_body(req, b.as_ptr(), b.len(), null_mut()),
                WK_OK
            );
        }
        let mut resp = null_mut();
        let status = wk_project_fetch(project, req, &mut resp, &mut err);
        wk_request_free(req);
        // A failed worker still yields its 500 response, as a client would see it.
        let failure = (status != WK_OK).then(|| take_err(err));
        if resp.is_null() {
            return Err(failure.unwrap_or_default());
        }
        let code = wk_response_status(resp);
        let mut reason = CStr::from_ptr(wk_response_status_text(resp))
            .to_string_lossy()
            .into_owned();
        if reason.is_empty() {
            reason = canonical_reason(code).to_string();
        }
        let mut headers = Vec::new();
        for i in 0..wk_response_header_count(resp) {
            let (mut n, mut nl, mut v, mut vl) = (null(), 0, null(), 0);
            assert_eq!(
                wk_response_header_at(resp, i, &mut n, &mut nl, &mut v, &mut vl),
                WK_OK
            );
            let text = |p: *const c_char, l: usize| {
                String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), l)).into_owned()
            };
            headers.push((text(n, nl), text(v, vl)));
        }
        let (mut data, mut len) = (null(), 0);
        assert_eq!(wk_response_body(resp, &mut data, &mut len), WK_OK);
        let body = match len {
            0 => Vec::new(),
            _ => std::slice::from_raw_parts(data, len).to_vec(),
        };
        wk_response_free(resp);
        Ok(Reply {
            status: code,
            reason,
            headers,
            body,
        })
    }
}

/// The reason phrase an HTTP/1.1 server writes when the worker set none.
fn canonical_reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        _ => "",
    }
}

#[test]
fn conformance_corpus_through_the_c_abi() {
    let cases = harness::case_dirs();
    assert!(!cases.is_empty(), "no conformance cases found");
    let mut options = std::mem::MaybeUninit::<wk_engine_options_t>::uninit();
    let mut engine = null_mut();
    // SAFETY: options initialised by libworker before use; the engine is freed at the end.
    unsafe {
        assert_eq!(wk_engine_options_init(options.as_mut_ptr()), WK_OK);
        let mut options = options.assume_init();
        options.pool_size = 1;
        let mut err = null_mut();
        let st = wk_engine_new(&options, null(), null_mut(), None, &mut engine, &mut err);
        assert_eq!(st, WK_OK, "{}", take_err(err));
    }

    let (mut failures, mut passed, mut total) = (Vec::new(), 0, 0);
    for (n, dir) in cases.iter().enumerate() {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let requests = match harness::requests(dir) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{case}: {e}"));
                continue;
            }
        };
        total += requests.len();
        let kv = match harness::config_file(dir)
            .map(|c| kv_bindings(&c))
            .transpose()
        {
            Ok(names) => names.unwrap_or_default(),
            Err(e) => {
                failures.push(format!("{case}: reading the config: {e}"));
                continue;
            }
        };
        let state =
            std::env::temp_dir().join(format!("wk-c-conformance-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        let (entry, state_text) = (
            harness::entry(dir).display().to_string(),
            state.display().to_string(),
        );
        let env = host_env(&kv);
        let mut project = null_mut();
        let mut err = null_mut();
        // SAFETY: valid strings and env; the env is copied by wk_project_open and freed here.
        let st = unsafe {
            let ((p, pl), (sd, sl)) = (s(&entry), s(&state_text));
            let st = wk_project_open(engine, p, pl, sd, sl, env, &mut project, &mut err);
            wk_env_free(env);
            st
        };
        if st != WK_OK {
            failures.push(format!("{case}: wk_project_open: {}", take_err(err)));
            continue;
        }
        for r in &requests {
            let label = format!("{case}/{}", r["name"].as_str().unwrap_or("?"));
            if let Some(ms) = r.get("delayMs").and_then(Value::as_u64) {
                std::thread::sleep(Duration::from_millis(ms));
            }
            match fetch(project, r) {
                Err(e) => failures.push(format!("{label}: {e}")),
                Ok(reply) => {
                    let problems = check(&r["expect"], &reply);
                    if problems.is_empty() {
                        passed += 1;
                    } else {
                        failures.push(harness::mismatch(&label, &problems, &reply));
                    }
                }
            }
        }
        // SAFETY: opened above, freed once.
        unsafe { wk_project_free(project) };
        let _ = std::fs::remove_dir_all(&state);
    }
    // SAFETY: created above; every project is freed.
    unsafe { wk_engine_free(engine) };
    eprintln!(
        "C ABI conformance: {passed}/{total} requests passed in {} cases",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
