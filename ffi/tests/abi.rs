//! The C ABI called the way a C host calls it: through the `extern "C"` functions, with raw
//! pointers, including the bad inputs a C host can pass.
use std::ffi::{CStr, c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use worker::*;

fn s(x: &str) -> (*const c_char, usize) {
    (x.as_ptr().cast(), x.len())
}

/// Takes an error out-parameter: its message, and frees it.
fn take_err(e: *mut wk_error_t) -> String {
    assert!(!e.is_null(), "expected an error object");
    // SAFETY: `e` is an error libworker returned; freed exactly once here.
    unsafe {
        let msg = CStr::from_ptr(wk_error_message(e))
            .to_string_lossy()
            .into_owned();
        wk_error_free(e);
        msg
    }
}

fn cstr(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: libworker returns NUL-terminated strings that live as long as their owner.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[test]
fn abi_version_matches_header_constant() {
    assert_eq!(wk_abi_version(), WK_ABI_VERSION);
    assert_eq!(WK_ABI_VERSION, 1);
    assert_eq!(cstr(wk_version()), env!("CARGO_PKG_VERSION"));
    assert_eq!(cstr(wk_status_name(WK_E_LIMIT)), "WK_E_LIMIT");
    assert_eq!(cstr(wk_status_name(12345)), "WK_E_UNKNOWN");
}

#[test]
fn null_arguments_are_invalid_argument_not_crashes() {
    // SAFETY: the point of the test: NULL everywhere a pointer is required.
    unsafe {
        let mut err = null_mut();
        assert_eq!(wk_env_new(null_mut(), &mut err), WK_E_INVALID_ARGUMENT);
        assert!(take_err(err).contains("out_env is NULL"));

        let (k, kl) = s("k");
        assert_eq!(
            wk_env_set_var(null_mut(), k, kl, k, kl, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("env is NULL"));

        let mut env = null_mut();
        assert_eq!(wk_env_new(&mut env, null_mut()), WK_OK);
        assert_eq!(
            wk_env_set_var(env, null(), 3, k, kl, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("key is NULL"));
        // Errors are optional: passing NULL for err still reports the status.
        assert_eq!(
            wk_env_set_secret(env, k, kl, null(), 1, null_mut()),
            WK_E_INVALID_ARGUMENT
        );
        wk_env_free(env);

        let mut req = null_mut();
        let (u, ul) = s("https://example.com/");
        assert_eq!(
            wk_request_new(null(), 0, u, ul, &mut req, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("method is NULL"));
        assert!(req.is_null());
        assert_eq!(
            wk_request_set_body(null_mut(), null(), 0, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        take_err(err);

        let mut resp = null_mut();
        assert_eq!(
            wk_execute(null(), k, kl, k, kl, null(), null(), &mut resp, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("engine is NULL"));
        assert!(resp.is_null());

        // Accessors on NULL objects return neutral values.
        assert_eq!(wk_response_status(null()), 0);
        assert_eq!(cstr(wk_response_status_text(null())), "");
        assert_eq!(wk_response_header_count(null()), 0);
        assert_eq!(wk_response_log_count(null()), 0);
        assert_eq!(
            wk_response_header_at(null(), 0, null_mut(), null_mut(), null_mut(), null_mut()),
            WK_E_INVALID_ARGUMENT
        );
        let mut n = 0usize;
        assert_eq!(
            wk_response_body_read(null_mut(), null_mut(), 0, &mut n),
            WK_E_INVALID_ARGUMENT
        );
        assert_eq!(wk_error_code(null()), WK_E_INVALID_ARGUMENT);
        assert_eq!(cstr(wk_error_message(null())), "");
        assert_eq!(wk_engine_options_init(null_mut()), WK_E_INVALID_ARGUMENT);
        assert_eq!(
            wk_completion_resolve(null_mut(), null(), 0),
            WK_E_INVALID_ARGUMENT
        );

        // _free(NULL) is a no-op for every type.
        wk_engine_free(null_mut());
        wk_env_free(null_mut());
        wk_request_free(null_mut());
        wk_response_free(null_mut());
        wk_error_free(null_mut());
        wk_source_free(null_mut());
        wk_string_free(null_mut());
        wk_bytes_free(null_mut());
        wk_completion_free(null_mut());
        wk_completion_waiter_free(null_mut());
    }
}

#[test]
fn invalid_utf8_is_invalid_argument() {
    let bad = b"ab\xffcd";
    // SAFETY: valid pointers to non-UTF-8 bytes.
    unsafe {
        let mut err = null_mut();
        let mut env = null_mut();
        assert_eq!(wk_env_new(&mut env, null_mut()), WK_OK);
        let (v, vl) = s("v");
        assert_eq!(
            wk_env_set_var(env, bad.as_ptr().cast(), bad.len(), v, vl, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        let msg = take_err(err);
        assert!(msg.contains("key is not valid UTF-8"), "{msg}");
        assert!(msg.contains("offset 2"), "{msg}");
        wk_env_free(env);

        let (m, ml) = s("GET");
        let mut req = null_mut();
        assert_eq!(
            wk_request_new(m, ml, bad.as_ptr().cast(), bad.len(), &mut req, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("url is not valid UTF-8"));

        let mut src = null_mut();
        assert_eq!(wk_source_new(&mut src, null_mut()), WK_OK);
        let (n, nl) = s("worker.js");
        assert_eq!(
            wk_source_add_module(src, n, nl, WK_MODULE_ESM, bad.as_ptr(), bad.len(), &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("WK_MODULE_DATA"));
        // Binary content is fine as a data module.
        let (d, dl) = s("blob.bin");
        assert_eq!(
            wk_source_add_module(
                src,
                d,
                dl,
                WK_MODULE_DATA,
                bad.as_ptr(),
                bad.len(),
                &mut err
            ),
            WK_OK
        );
        assert!(err.is_null());
        assert_eq!(
            wk_source_add_module(src, d, dl, 99, bad.as_ptr(), bad.len(), &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("unknown module type 99"));
        assert_eq!(
            wk_source_add_module(src, d, dl, WK_MODULE_DATA, null(), 0, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("already added"));
        wk_source_free(src);
    }
}

#[test]
fn env_json_must_be_json() {
    // SAFETY: valid arguments.
    unsafe {
        let mut env = null_mut();
        let mut err = null_mut();
        assert_eq!(wk_env_new(&mut env, &mut err), WK_OK);
        assert!(err.is_null());
        let (k, kl) = s("CONFIG");
        let (j, jl) = s(r#"{"a": [1, 2"#);
        assert_eq!(
            wk_env_set_json(env, k, kl, j, jl, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        let msg = take_err(err);
        assert!(msg.contains("not valid JSON"), "{msg}");
        let (j, jl) = s(r#"{"a": [1, 2]}"#);
        assert_eq!(wk_env_set_json(env, k, kl, j, jl, &mut err), WK_OK);
        wk_env_free(env);
    }
}

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_free(_ud: *mut c_void) {
    FREED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn bad_struct_size_is_rejected_and_user_data_freed_once() {
    // SAFETY: valid pointers; the structs carry deliberately wrong sizes.
    unsafe {
        let before = FREED.load(Ordering::SeqCst);
        let mut opts: wk_engine_options_t = std::mem::zeroed();
        assert_eq!(wk_engine_options_init(&mut opts), WK_OK);
        assert_eq!(opts.struct_size as usize, size_of::<wk_engine_options_t>());
        assert_eq!(opts.memory_limit_mb, 128);
        opts.struct_size = 8;
        let mut engine = null_mut();
        let mut err = null_mut();
        assert_eq!(
            wk_engine_new(
                &opts,
                null(),
                null_mut(),
                Some(count_free),
                &mut engine,
                &mut err
            ),
            WK_E_INVALID_ARGUMENT
        );
        let msg = take_err(err);
        assert!(
            msg.contains("wk_engine_options_t.struct_size is 8"),
            "{msg}"
        );
        assert!(engine.is_null());
        assert_eq!(FREED.load(Ordering::SeqCst), before + 1);

        let vt = wk_source_loader_vtable_t {
            struct_size: 0,
            load: Some(hello_loader),
        };
        assert_eq!(
            wk_engine_new(
                null(),
                &vt,
                null_mut(),
                Some(count_free),
                &mut engine,
                &mut err
            ),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("wk_source_loader_vtable_t.struct_size is 0"));
        let vt = wk_source_loader_vtable_t {
            struct_size: size_of::<wk_source_loader_vtable_t>() as u32,
            load: None,
        };
        assert_eq!(
            wk_engine_new(
                null(),
                &vt,
                null_mut(),
                Some(count_free),
                &mut engine,
                &mut err
            ),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("load is NULL"));
        assert_eq!(
            wk_engine_new(
                null(),
                &vt,
                null_mut(),
                Some(count_free),
                null_mut(),
                null_mut()
            ),
            WK_E_INVALID_ARGUMENT
        );
        assert_eq!(FREED.load(Ordering::SeqCst), before + 4);
    }
}

#[test]
fn completion_settles_exactly_once() {
    // Resolve, then every further call is refused.
    let (c, rx) = completion_pair();
    // SAFETY: `c` is a live completion handle; later calls exercise the stale-handle path.
    unsafe {
        assert_eq!(wk_completion_resolve(c, b"abc".as_ptr(), 3), WK_OK);
        assert_eq!(
            wk_completion_resolve(c, b"x".as_ptr(), 1),
            WK_E_INVALID_ARGUMENT
        );
        assert_eq!(
            wk_completion_reject(c, c"no".as_ptr(), 2),
            WK_E_INVALID_ARGUMENT
        );
        wk_completion_free(c); // no-op on a settled completion
    }
    assert_eq!(rx.wait(), Ok(Completed::Bytes(b"abc".to_vec())));

    // Reject carries the message.
    let (c, rx) = completion_pair();
    // SAFETY: live handle.
    unsafe { assert_eq!(wk_completion_reject(c, c"boom".as_ptr(), 4), WK_OK) };
    assert_eq!(rx.wait(), Err("boom".to_string()));

    // Dropped unresolved: rejected as "completion dropped".
    let (c, rx) = completion_pair();
    // SAFETY: live handle.
    unsafe { wk_completion_free(c) };
    assert_eq!(rx.wait(), Err(COMPLETION_DROPPED.to_string()));
    assert!(!completion_drop(c));

    // From another thread, after the receiver started waiting; and as a future.
    let (c, rx) = completion_pair();
    let addr = c as usize;
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let c = std::ptr::with_exposed_provenance_mut::<wk_completion_t>(addr);
        // SAFETY: live handle, settled once from this thread.
        unsafe { wk_completion_resolve(c, null(), 0) }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(rx), Ok(Completed::Bytes(Vec::new())));
    assert_eq!(t.join().unwrap(), WK_OK);

    // A receiver that gave up does not make the host's resolve fail.
    let (c, rx) = completion_pair();
    drop(rx);
    // SAFETY: live handle.
    unsafe { assert_eq!(wk_completion_resolve(c, b"late".as_ptr(), 4), WK_OK) };
}

#[test]
fn completion_waiter_from_c_side() {
    // SAFETY: valid out-parameters; the waiter is freed once.
    unsafe {
        let mut c = null_mut();
        let mut w = null_mut();
        assert_eq!(wk_completion_new(&mut c, &mut w, null_mut()), WK_OK);
        assert_eq!(wk_completion_reject(c, c"nope".as_ptr(), 4), WK_OK);
        let mut data = null_mut();
        let mut len = 0usize;
        let mut err = null_mut();
        assert_eq!(
            wk_completion_wait(w, &mut data, &mut len, &mut err),
            WK_E_REJECTED
        );
        assert!(data.is_null());
        assert_eq!(cstr(wk_error_kind(err)), "rejected");
        assert_eq!(take_err(err), "nope");
        assert_eq!(
            wk_completion_wait(w, &mut data, &mut len, &mut err),
            WK_E_INVALID_ARGUMENT
        );
        take_err(err);
        wk_completion_waiter_free(w);
    }
}

#[test]
fn response_body_can_be_read_in_chunks_and_whole() {
    let engine = Engine::new("hello");
    let resp = engine.get("https://example.com/stream").expect("response");
    // SAFETY: a live response; buffers sized as passed.
    unsafe {
        let mut whole = null();
        let mut whole_len = 0usize;
        assert_eq!(wk_response_body(resp, &mut whole, &mut whole_len), WK_OK);
        let whole = std::slice::from_raw_parts(whole, whole_len).to_vec();
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let mut n = 0usize;
            assert_eq!(
                wk_response_body_read(resp, buf.as_mut_ptr(), buf.len(), &mut n),
                WK_OK
            );
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, whole);
        assert_eq!(String::from_utf8(got).unwrap(), "hello from /stream");
        wk_response_free(resp);
    }
}

// ---- executing workers through the ABI ----

const HELLO: &str = r#"
export default {
  async fetch(request, env, ctx) {
    // Only Request/Response/Headers/console: the test exercises the ABI, not other Web APIs.
    const url = { pathname: request.url.replace("https://example.com", "") };
    console.log("handling", url.pathname);
    if (url.pathname === "/throw") {
      console.warn("about to throw");
      throw new TypeError("bad thing");
    }
    if (url.pathname === "/echo") {
      return new Response(await request.text(), {
        headers: { "x-count": String([...request.headers].length), "x-accept": request.headers.get("accept") },
      });
    }
    const h = new Headers({ "content-type": "text/plain" });
    h.append("set-cookie", "a=1");
    h.append("set-cookie", "b=2");
    return new Response("hello from " + url.pathname + (env.NAME ? " " + env.NAME + " " + env.CONFIG.n + " " + env.TOKEN : ""), { status: 200, headers: h });
  },
};
export function add(env, a, b) { return { sum: a + b, name: env.NAME ?? null }; }
export async function fails() { throw new RangeError("nope"); }
"#;

unsafe extern "C" fn hello_loader(
    _ud: *mut c_void,
    site: *const c_char,
    site_len: usize,
    _deploy: *const c_char,
    _deploy_len: usize,
    out: *mut wk_source_t,
) -> wk_status_t {
    // SAFETY: libworker passes a valid UTF-8 site of `site_len` bytes (NUL-terminated too).
    let site = unsafe { std::slice::from_raw_parts(site.cast::<u8>(), site_len) };
    assert_eq!(unsafe { *site.as_ptr().add(site_len) }, 0);
    match site {
        b"hello" => {
            // SAFETY: `out` is the builder libworker handed us.
            unsafe {
                wk_source_add_module(
                    out,
                    c"worker.js".as_ptr(),
                    9,
                    WK_MODULE_ESM,
                    HELLO.as_ptr(),
                    HELLO.len(),
                    null_mut(),
                )
            }
        }
        b"broken" => {
            let code = "export default { fetch() { return new Response(\"x\") }\n";
            // SAFETY: as above.
            unsafe {
                wk_source_add_module(
                    out,
                    c"src/broken.js".as_ptr(),
                    13,
                    WK_MODULE_ESM,
                    code.as_ptr(),
                    code.len(),
                    null_mut(),
                )
            }
        }
        _ => {
            let msg = "no such site";
            // SAFETY: as above.
            unsafe { wk_source_set_error(out, msg.as_ptr().cast(), msg.len(), null_mut()) };
            WK_E_NOT_FOUND
        }
    }
}

struct Engine {
    ptr: *mut wk_engine_t,
    site: &'static str,
}

impl Engine {
    fn new(site: &'static str) -> Engine {
        let mut opts: wk_engine_options_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers throughout.
        unsafe {
            assert_eq!(wk_engine_options_init(&mut opts), WK_OK);
            opts.pool_size = 1;
            opts.warm_isolates = 0;
            let vt = wk_source_loader_vtable_t {
                struct_size: size_of::<wk_source_loader_vtable_t>() as u32,
                load: Some(hello_loader),
            };
            let mut ptr = null_mut();
            let mut err = null_mut();
            let st = wk_engine_new(&opts, &vt, null_mut(), None, &mut ptr, &mut err);
            if st != WK_OK {
                panic!("wk_engine_new failed: {}", take_err(err));
            }
            Engine { ptr, site }
        }
    }

    fn request(
        &self,
        req: *const wk_request_t,
    ) -> (wk_status_t, *mut wk_response_t, *mut wk_error_t) {
        let mut resp = null_mut();
        let mut err = null_mut();
        let (site, sl) = s(self.site);
        let (dep, dl) = s("v1");
        // SAFETY: live engine and request.
        let st = unsafe {
            wk_execute(
                self.ptr,
                site,
                sl,
                dep,
                dl,
                null(),
                req,
                &mut resp,
                &mut err,
            )
        };
        (st, resp, err)
    }

    fn get(&self, url: &str) -> Result<*mut wk_response_t, String> {
        let req = new_request("GET", url);
        let (st, resp, err) = self.request(req);
        // SAFETY: request from new_request, freed once.
        unsafe { wk_request_free(req) };
        if st == WK_OK {
            Ok(resp)
        } else {
            // SAFETY: the failed call still returned an owned response.
            unsafe { wk_response_free(resp) };
            Err(take_err(err))
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: engine from wk_engine_new, freed once.
        unsafe { wk_engine_free(self.ptr) };
    }
}

fn new_request(method: &str, url: &str) -> *mut wk_request_t {
    let (m, ml) = s(method);
    let (u, ul) = s(url);
    let mut req = null_mut();
    // SAFETY: valid strings and out-parameter.
    assert_eq!(
        unsafe { wk_request_new(m, ml, u, ul, &mut req, null_mut()) },
        WK_OK
    );
    req
}

fn headers(resp: *const wk_response_t) -> Vec<(String, String)> {
    // SAFETY: live response; returned pointers are valid until it is freed.
    unsafe {
        (0..wk_response_header_count(resp))
            .map(|i| {
                let (mut n, mut nl, mut v, mut vl) = (null(), 0usize, null(), 0usize);
                assert_eq!(
                    wk_response_header_at(resp, i, &mut n, &mut nl, &mut v, &mut vl),
                    WK_OK
                );
                assert_eq!(cstr(n).len(), nl);
                (cstr(n), cstr(v))
            })
            .collect()
    }
}

fn logs(resp: *const wk_response_t) -> Vec<(wk_log_level_t, String)> {
    // SAFETY: live response.
    unsafe {
        (0..wk_response_log_count(resp))
            .map(|i| {
                let (mut lv, mut m, mut ml) = (0, null(), 0usize);
                assert_eq!(wk_response_log_at(resp, i, &mut lv, &mut m, &mut ml), WK_OK);
                (lv, cstr(m))
            })
            .collect()
    }
}

fn body(resp: *const wk_response_t) -> String {
    let mut p = null();
    let mut n = 0usize;
    // SAFETY: live response.
    unsafe {
        assert_eq!(wk_response_body(resp, &mut p, &mut n), WK_OK);
        String::from_utf8_lossy(std::slice::from_raw_parts(p, n)).into_owned()
    }
}

#[test]
fn execute_returns_status_headers_body_and_logs() {
    let engine = Engine::new("hello");
    let resp = engine.get("https://example.com/hi").expect("response");
    // SAFETY: live response, freed once.
    unsafe {
        assert_eq!(wk_response_status(resp), 200);
        // The reason phrase is up to the worker (`statusText`); it is always a valid C string.
        let _ = cstr(wk_response_status_text(resp));
        let h = headers(resp);
        let cookies: Vec<_> = h
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(cookies, ["a=1", "b=2"], "{h:?}");
        assert!(h.contains(&("content-type".into(), "text/plain".into())));
        assert_eq!(body(resp), "hello from /hi");
        assert_eq!(logs(resp), [(WK_LOG_LOG, "handling /hi".to_string())]);
        assert_eq!(
            wk_response_header_at(resp, 99, null_mut(), null_mut(), null_mut(), null_mut()),
            WK_E_NOT_FOUND
        );
        assert!(!wk_response_pass_through(resp));
        wk_response_free(resp);
    }
}

#[test]
fn request_headers_body_and_env_reach_the_worker() {
    let engine = Engine::new("hello");
    let req = new_request("POST", "https://example.com/echo");
    // SAFETY: live request/env, freed once.
    unsafe {
        for (k, v) in [
            ("accept", "text/html"),
            ("accept", "text/plain"),
            ("x-a", "1"),
        ] {
            let (k, kl) = s(k);
            let (v, vl) = s(v);
            assert_eq!(wk_request_add_header(req, k, kl, v, vl, null_mut()), WK_OK);
        }
        let payload = b"\x00\xffbinary";
        assert_eq!(
            wk_request_set_body(req, payload.as_ptr(), payload.len(), null_mut()),
            WK_OK
        );
        let (st, resp, err) = engine.request(req);
        assert_eq!(st, WK_OK);
        assert!(err.is_null());
        let h = headers(resp);
        assert!(h.contains(&("x-count".into(), "2".into())), "{h:?}");
        assert!(
            h.contains(&("x-accept".into(), "text/html, text/plain".into())),
            "{h:?}"
        );
        wk_response_free(resp);
        wk_request_free(req);

        // env vars, secrets and JSON vars
        let mut env = null_mut();
        assert_eq!(wk_env_new(&mut env, null_mut()), WK_OK);
        let (k, kl) = s("NAME");
        let (v, vl) = s("ada");
        assert_eq!(wk_env_set_var(env, k, kl, v, vl, null_mut()), WK_OK);
        let (k, kl) = s("CONFIG");
        let (v, vl) = s(r#"{"n": 42}"#);
        assert_eq!(wk_env_set_json(env, k, kl, v, vl, null_mut()), WK_OK);
        let (k, kl) = s("TOKEN");
        let (v, vl) = s("s3cret");
        assert_eq!(wk_env_set_secret(env, k, kl, v, vl, null_mut()), WK_OK);
        let req = new_request("GET", "https://example.com/env");
        let mut resp = null_mut();
        let mut err = null_mut();
        let st = wk_execute(
            engine.ptr,
            c"hello".as_ptr(),
            5,
            c"v1".as_ptr(),
            2,
            env,
            req,
            &mut resp,
            &mut err,
        );
        assert_eq!(st, WK_OK);
        assert_eq!(body(resp), "hello from /env ada 42 s3cret");
        wk_response_free(resp);
        wk_request_free(req);

        // execute_function sees the same env.
        let mut json = null_mut();
        let mut len = 0usize;
        let (n, nl) = s("add");
        let (a, al) = s("[2, 3]");
        let st = wk_execute_function(
            engine.ptr,
            c"hello".as_ptr(),
            5,
            c"v1".as_ptr(),
            2,
            env,
            n,
            nl,
            a,
            al,
            &mut json,
            &mut len,
            &mut err,
        );
        assert_eq!(
            st,
            WK_OK,
            "{}",
            if err.is_null() {
                String::new()
            } else {
                take_err(err)
            }
        );
        let text = cstr(json);
        assert_eq!(text.len(), len);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, serde_json::json!({"sum": 5, "name": "ada"}));
        wk_string_free(json);
        wk_env_free(env);
    }
}

#[test]
fn worker_exception_returns_error_and_a_500_response_with_logs() {
    let engine = Engine::new("hello");
    let req = new_request("GET", "https://example.com/throw");
    let (st, resp, err) = engine.request(req);
    // SAFETY: owned objects, freed once.
    unsafe {
        assert_eq!(st, WK_E_EXCEPTION);
        assert!(
            !resp.is_null(),
            "a failed execute still returns the response"
        );
        assert_eq!(wk_response_status(resp), 500);
        let l = logs(resp);
        assert!(l.contains(&(WK_LOG_WARN, "about to throw".into())), "{l:?}");
        assert_eq!(wk_error_code(err), WK_E_EXCEPTION);
        assert_eq!(cstr(wk_error_name(err)), "TypeError");
        assert_eq!(cstr(wk_error_kind(err)), "exception");
        assert!(cstr(wk_error_stack(err)).contains("bad thing"));
        assert!(cstr(wk_error_message(err)).contains("bad thing"));
        wk_error_free(err);
        wk_response_free(resp);
        wk_request_free(req);
    }
}

#[test]
fn loader_failure_and_syntax_error_are_reported() {
    let engine = Engine::new("missing");
    let err = engine.get("https://example.com/").unwrap_err();
    assert!(err.contains("no such site"), "{err}");

    let broken = Engine::new("broken");
    let req = new_request("GET", "https://example.com/");
    let (st, resp, err) = broken.request(req);
    // SAFETY: owned objects, freed once.
    unsafe {
        assert_eq!(st, WK_E_SCRIPT, "{}", cstr(wk_error_message(err)));
        assert_eq!(cstr(wk_error_name(err)), "SyntaxError");
        assert!(
            cstr(wk_error_location(err)).starts_with("src/broken.js:"),
            "{}",
            cstr(wk_error_location(err))
        );
        wk_error_free(err);
        wk_response_free(resp);
        wk_request_free(req);
    }
}

#[test]
fn execute_function_errors() {
    let engine = Engine::new("hello");
    let call = |name: &str, args: &str| {
        let mut json = null_mut();
        let mut err = null_mut();
        let (n, nl) = s(name);
        let (a, al) = s(args);
        // SAFETY: valid arguments.
        let st = unsafe {
            wk_execute_function(
                engine.ptr,
                c"hello".as_ptr(),
                5,
                c"v1".as_ptr(),
                2,
                null(),
                n,
                nl,
                a,
                al,
                &mut json,
                null_mut(),
                &mut err,
            )
        };
        assert!(json.is_null() || st == WK_OK);
        // SAFETY: freed once.
        unsafe { wk_string_free(json) };
        (
            st,
            if err.is_null() {
                String::new()
            } else {
                take_err(err)
            },
        )
    };
    assert_eq!(call("add", "{}").0, WK_E_INVALID_ARGUMENT);
    assert!(call("add", "[1,").1.contains("not valid JSON"));
    let (st, msg) = call("fails", "[]");
    assert_eq!(st, WK_E_EXCEPTION, "{msg}");
    assert!(msg.contains("nope"));
    assert_eq!(call("add", "").0, WK_OK);
}

#[test]
fn compile_and_cache_through_the_abi() {
    let engine = Engine::new("missing");
    // SAFETY: valid arguments; every object freed once.
    unsafe {
        let mut src = null_mut();
        assert_eq!(wk_source_new(&mut src, null_mut()), WK_OK);
        let mut cache = null_mut();
        let mut len = 0usize;
        let mut err = null_mut();
        // Empty source: invalid.
        assert_eq!(
            wk_compile_and_cache(
                engine.ptr,
                c"cc".as_ptr(),
                2,
                c"v1".as_ptr(),
                2,
                src,
                &mut cache,
                &mut len,
                &mut err
            ),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("no modules"));
        let (n, nl) = s("main.js");
        assert_eq!(
            wk_source_add_module(
                src,
                n,
                nl,
                WK_MODULE_ESM,
                HELLO.as_ptr(),
                HELLO.len(),
                null_mut()
            ),
            WK_OK
        );
        let (n, nl) = s("other.js");
        assert_eq!(wk_source_set_main(src, n, nl, null_mut()), WK_OK);
        assert_eq!(
            wk_compile_and_cache(
                engine.ptr,
                c"cc".as_ptr(),
                2,
                c"v1".as_ptr(),
                2,
                src,
                &mut cache,
                &mut len,
                &mut err
            ),
            WK_E_INVALID_ARGUMENT
        );
        assert!(take_err(err).contains("\"other.js\" is not among"));
        let (n, nl) = s("main.js");
        assert_eq!(wk_source_set_main(src, n, nl, null_mut()), WK_OK);
        let st = wk_compile_and_cache(
            engine.ptr,
            c"cc".as_ptr(),
            2,
            c"v1".as_ptr(),
            2,
            src,
            &mut cache,
            &mut len,
            &mut err,
        );
        assert_eq!(
            st,
            WK_OK,
            "{}",
            if err.is_null() {
                String::new()
            } else {
                take_err(err)
            }
        );
        assert!(!cache.is_null());
        assert!(len > 0);
        wk_bytes_free(cache);
        wk_source_free(src);

        // The compiled worker now serves requests without the loader.
        let cc = Engine {
            ptr: engine.ptr,
            site: "cc",
        };
        let resp = cc.get("https://example.com/cached").expect("response");
        assert_eq!(body(resp), "hello from /cached");
        wk_response_free(resp);
        std::mem::forget(cc);

        // A syntax error is WK_E_SCRIPT with a location.
        let mut src = null_mut();
        assert_eq!(wk_source_new(&mut src, null_mut()), WK_OK);
        let code = "export default {\n  fetch() { return new Response( }\n};\n";
        let (n, nl) = s("bad.js");
        assert_eq!(
            wk_source_add_module(
                src,
                n,
                nl,
                WK_MODULE_ESM,
                code.as_ptr(),
                code.len(),
                null_mut()
            ),
            WK_OK
        );
        let st = wk_compile_and_cache(
            engine.ptr,
            c"bad".as_ptr(),
            3,
            c"v1".as_ptr(),
            2,
            src,
            &mut cache,
            &mut len,
            &mut err,
        );
        assert_eq!(st, WK_E_SCRIPT);
        assert!(cache.is_null());
        assert!(
            cstr(wk_error_location(err)).starts_with("bad.js:2:"),
            "{}",
            cstr(wk_error_location(err))
        );
        wk_error_free(err);
        wk_source_free(src);
    }
}

struct AsyncDone {
    tx: mpsc::Sender<(wk_status_t, u16, String, std::thread::ThreadId)>,
}

unsafe extern "C" fn on_done(
    ud: *mut c_void,
    status: wk_status_t,
    resp: *mut wk_response_t,
    err: *mut wk_error_t,
) {
    // SAFETY: `ud` is the Box<AsyncDone> leaked by the test, reclaimed here exactly once.
    let done = unsafe { Box::from_raw(ud.cast::<AsyncDone>()) };
    // SAFETY: the callback owns resp and err.
    unsafe {
        let code = wk_response_status(resp);
        let text = if resp.is_null() {
            String::new()
        } else {
            body(resp)
        };
        wk_response_free(resp);
        wk_error_free(err);
        let _ = done
            .tx
            .send((status, code, text, std::thread::current().id()));
    }
}

#[test]
fn execute_async_calls_back_once_per_request() {
    let engine = Engine::new("hello");
    let (tx, rx) = mpsc::channel();
    let paths = ["/a", "/b", "/throw", "/c"];
    for p in paths {
        let req = new_request("GET", &format!("https://example.com{p}"));
        let ud = Box::into_raw(Box::new(AsyncDone { tx: tx.clone() }));
        // SAFETY: valid arguments; ownership of `ud` passes to on_done.
        let st = unsafe {
            wk_execute_async(
                engine.ptr,
                c"hello".as_ptr(),
                5,
                c"v1".as_ptr(),
                2,
                null(),
                req,
                Some(on_done),
                ud.cast(),
                null_mut(),
            )
        };
        assert_eq!(st, WK_OK);
        // The request is copied: freeing it right away is fine.
        // SAFETY: freed once.
        unsafe { wk_request_free(req) };
    }
    drop(tx);
    let mut results: Vec<_> = rx.iter().collect();
    assert_eq!(results.len(), paths.len());
    results.sort_by(|a, b| a.2.cmp(&b.2));
    let here = std::thread::current().id();
    assert!(
        results.iter().all(|r| r.3 != here),
        "callbacks run on libworker's thread"
    );
    let summary: Vec<_> = results.iter().map(|r| (r.0, r.1, r.2.as_str())).collect();
    assert_eq!(
        summary,
        [
            (WK_E_EXCEPTION, 500, ""),
            (WK_OK, 200, "hello from /a"),
            (WK_OK, 200, "hello from /b"),
            (WK_OK, 200, "hello from /c"),
        ]
    );
    // NULL callback: refused, and nothing is called.
    let req = new_request("GET", "https://example.com/");
    // SAFETY: valid arguments except the callback.
    unsafe {
        assert_eq!(
            wk_execute_async(
                engine.ptr,
                c"hello".as_ptr(),
                5,
                c"v1".as_ptr(),
                2,
                null(),
                req,
                None,
                null_mut(),
                null_mut()
            ),
            WK_E_INVALID_ARGUMENT
        );
        wk_request_free(req);
    }
}

#[test]
fn engine_free_calls_user_data_free_once_and_shutdown_refuses_work() {
    static LOCAL_FREED: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn local_free(_ud: *mut c_void) {
        LOCAL_FREED.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: valid arguments; engine freed once.
    unsafe {
        let vt = wk_source_loader_vtable_t {
            struct_size: size_of::<wk_source_loader_vtable_t>() as u32,
            load: Some(hello_loader),
        };
        let mut opts: wk_engine_options_t = std::mem::zeroed();
        wk_engine_options_init(&mut opts);
        opts.pool_size = 1;
        let mut e = null_mut();
        assert_eq!(
            wk_engine_new(&opts, &vt, null_mut(), Some(local_free), &mut e, null_mut()),
            WK_OK
        );
        let engine = Engine {
            ptr: e,
            site: "hello",
        };
        let resp = engine.get("https://example.com/x").expect("response");
        wk_response_free(resp);
        assert_eq!(wk_engine_shutdown(e, null_mut()), WK_OK);
        assert_eq!(wk_engine_shutdown(e, null_mut()), WK_OK, "idempotent");
        let err = engine.get("https://example.com/x").unwrap_err();
        assert!(!err.is_empty());
        assert_eq!(LOCAL_FREED.load(Ordering::SeqCst), 0);
        drop(engine);
        assert_eq!(LOCAL_FREED.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn panics_become_wk_e_panic() {
    let mut err = null_mut();
    let st = run_guarded(&mut err, || panic!("kaboom {}", 7));
    assert_eq!(st, WK_E_PANIC);
    // SAFETY: error returned by the guard.
    unsafe { assert_eq!(cstr(wk_error_kind(err)), "panic") };
    assert!(take_err(err).contains("kaboom 7"));
    assert_eq!(run_guarded(null_mut(), || {}), WK_OK);
}

const SLOW: &str = r#"
export default {
  async fetch(request) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    return new Response("slow done");
  },
};
"#;

unsafe extern "C" fn slow_loader(
    _ud: *mut c_void,
    _site: *const c_char,
    _site_len: usize,
    _deploy: *const c_char,
    _deploy_len: usize,
    out: *mut wk_source_t,
) -> wk_status_t {
    // SAFETY: `out` is the builder libworker handed us.
    unsafe {
        wk_source_add_module(
            out,
            c"slow.js".as_ptr(),
            7,
            WK_MODULE_ESM,
            SLOW.as_ptr(),
            SLOW.len(),
            null_mut(),
        )
    }
}

fn slow_engine() -> *mut wk_engine_t {
    let vt = wk_source_loader_vtable_t {
        struct_size: size_of::<wk_source_loader_vtable_t>() as u32,
        load: Some(slow_loader),
    };
    let mut e = null_mut();
    // SAFETY: valid arguments.
    assert_eq!(
        unsafe { wk_engine_new(null(), &vt, null_mut(), None, &mut e, null_mut()) },
        WK_OK
    );
    e
}

static SLOW_DONE: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_done(
    _ud: *mut c_void,
    status: wk_status_t,
    resp: *mut wk_response_t,
    err: *mut wk_error_t,
) {
    if status == WK_OK && body(resp) == "slow done" {
        SLOW_DONE.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: the callback owns both.
    unsafe {
        wk_response_free(resp);
        wk_error_free(err);
    }
}

#[test]
fn engine_free_waits_for_pending_async_callbacks() {
    let e = slow_engine();
    let req = new_request("GET", "https://example.com/");
    for _ in 0..10 {
        // SAFETY: valid arguments.
        let st = unsafe {
            wk_execute_async(
                e,
                c"slow".as_ptr(),
                4,
                c"v1".as_ptr(),
                2,
                null(),
                req,
                Some(count_done),
                null_mut(),
                null_mut(),
            )
        };
        assert_eq!(st, WK_OK);
    }
    // SAFETY: freed once each.
    unsafe {
        wk_request_free(req);
        wk_engine_free(e);
    }
    assert_eq!(
        SLOW_DONE.load(Ordering::SeqCst),
        10,
        "every callback ran, with its response, before wk_engine_free returned"
    );
}

struct Reentrant {
    engine: *mut wk_engine_t,
    tx: mpsc::Sender<(wk_status_t, String)>,
}

unsafe extern "C" fn reenter(
    ud: *mut c_void,
    status: wk_status_t,
    resp: *mut wk_response_t,
    err: *mut wk_error_t,
) {
    // SAFETY: `ud` is the Box<Reentrant> leaked by the test, reclaimed once here.
    let r = unsafe { Box::from_raw(ud.cast::<Reentrant>()) };
    assert_eq!(status, WK_OK);
    // SAFETY: objects owned by this callback; the engine is freed last, from here.
    unsafe {
        wk_response_free(resp);
        wk_error_free(err);
        // A blocking call from the callback thread still works...
        let req = new_request("GET", "https://example.com/");
        let mut inner = null_mut();
        let st = wk_execute(
            r.engine,
            c"slow".as_ptr(),
            4,
            c"v1".as_ptr(),
            2,
            null(),
            req,
            &mut inner,
            null_mut(),
        );
        let text = body(inner);
        wk_response_free(inner);
        wk_request_free(req);
        // ...and so does freeing the engine from inside its own callback.
        wk_engine_free(r.engine);
        let _ = r.tx.send((st, text));
    }
}

#[test]
fn callbacks_may_call_back_in_and_free_the_engine() {
    let e = slow_engine();
    let (tx, rx) = mpsc::channel();
    let ud = Box::into_raw(Box::new(Reentrant { engine: e, tx }));
    let req = new_request("GET", "https://example.com/");
    // SAFETY: valid arguments; ownership of `ud` and of the engine passes to the callback.
    unsafe {
        let st = wk_execute_async(
            e,
            c"slow".as_ptr(),
            4,
            c"v1".as_ptr(),
            2,
            null(),
            req,
            Some(reenter),
            ud.cast(),
            null_mut(),
        );
        assert_eq!(st, WK_OK);
        wk_request_free(req);
    }
    let (st, text) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("callback ran");
    assert_eq!(st, WK_OK);
    assert_eq!(text, "slow done");
}

#[test]
fn response_reports_duration() {
    let e = slow_engine();
    let req = new_request("GET", "https://example.com/");
    let mut resp = null_mut();
    // SAFETY: valid arguments; all freed once.
    unsafe {
        let st = wk_execute(
            e,
            c"slow".as_ptr(),
            4,
            c"v1".as_ptr(),
            2,
            null(),
            req,
            &mut resp,
            null_mut(),
        );
        assert_eq!(st, WK_OK);
        assert!(
            wk_response_duration_us(resp) >= 30_000,
            "{}",
            wk_response_duration_us(resp)
        );
        wk_response_free(resp);
        wk_request_free(req);
        wk_engine_free(e);
    }
}

const SPIN: &str = r#"
export default {
  fetch(request) {
    if (request.url.endsWith("/spin")) { while (true) {} }
    return new Response("fine");
  },
};
"#;

unsafe extern "C" fn spin_loader(
    _ud: *mut c_void,
    _site: *const c_char,
    _site_len: usize,
    _deploy: *const c_char,
    _deploy_len: usize,
    out: *mut wk_source_t,
) -> wk_status_t {
    // SAFETY: `out` is the builder libworker handed us.
    unsafe {
        wk_source_add_module(
            out,
            c"spin.js".as_ptr(),
            7,
            WK_MODULE_ESM,
            SPIN.as_ptr(),
            SPIN.len(),
            null_mut(),
        )
    }
}

#[test]
fn cpu_limit_is_wk_e_limit_and_the_engine_keeps_serving() {
    // SAFETY: valid arguments; every object freed once.
    unsafe {
        let mut opts: wk_engine_options_t = std::mem::zeroed();
        assert_eq!(wk_engine_options_init(&mut opts), WK_OK);
        opts.pool_size = 1;
        opts.cpu_time_ms = 50;
        let vt = wk_source_loader_vtable_t {
            struct_size: size_of::<wk_source_loader_vtable_t>() as u32,
            load: Some(spin_loader),
        };
        let mut e = null_mut();
        assert_eq!(
            wk_engine_new(&opts, &vt, null_mut(), None, &mut e, null_mut()),
            WK_OK
        );
        let engine = Engine {
            ptr: e,
            site: "spin",
        };
        let req = new_request("GET", "https://example.com/spin");
        let (st, resp, err) = engine.request(req);
        assert_eq!(st, WK_E_LIMIT, "{}", cstr(wk_error_message(err)));
        assert_eq!(cstr(wk_error_kind(err)), "exceededCpu");
        assert_eq!(wk_response_status(resp), 500);
        wk_error_free(err);
        wk_response_free(resp);
        wk_request_free(req);
        let resp = engine
            .get("https://example.com/ok")
            .expect("next request succeeds");
        assert_eq!(body(resp), "fine");
        wk_response_free(resp);
    }
}
