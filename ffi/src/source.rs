//! Worker sources: the `wk_source_t` builder and the host's source-loader vtable.
use std::ffi::{c_char, c_void};

use worker_core::{Module, ModuleType, SourceLoader, WorkerSource};

use crate::error::*;

/// What a module's bytes are (`WK_MODULE_*`).
pub type wk_module_type_t = u32;
/// An ES module (`export default { fetch }`).
pub const WK_MODULE_ESM: wk_module_type_t = 0;
/// A classic script in service-worker syntax (`addEventListener("fetch", ...)`); main module only.
pub const WK_MODULE_SCRIPT: wk_module_type_t = 1;
/// UTF-8 text; `import t from "./a.txt"` gives the string.
pub const WK_MODULE_TEXT: wk_module_type_t = 2;
/// JSON; the default export is the parsed value.
pub const WK_MODULE_JSON: wk_module_type_t = 3;
/// Arbitrary bytes; the default export is an ArrayBuffer.
pub const WK_MODULE_DATA: wk_module_type_t = 4;

/// A worker's code under construction: modules plus the name of the main one. Filled by a source
/// loader (which does not own it) or created with `wk_source_new` (owned by the caller, freed
/// with `wk_source_free`). Not thread-safe: fill it from one thread at a time.
#[derive(Default)]
pub struct wk_source_t {
    main: Option<String>,
    modules: Vec<Module>,
    error: Option<String>,
}

impl wk_source_t {
    /// The worker source this builder describes. The main module defaults to the first one added.
    pub fn to_worker_source(&self) -> Result<WorkerSource, String> {
        let first = self
            .modules
            .first()
            .ok_or_else(|| "the worker source has no modules".to_string())?;
        let main = self.main.clone().unwrap_or_else(|| first.name.clone());
        if !self.modules.iter().any(|m| m.name == main) {
            return Err(format!(
                "main module {main:?} is not among the worker's modules"
            ));
        }
        Ok(WorkerSource {
            main_module: main,
            modules: self.modules.clone(),
        })
    }
}

fn parse_module_type(t: wk_module_type_t) -> Fallible<ModuleType> {
    Ok(match t {
        WK_MODULE_ESM => ModuleType::EsModule,
        WK_MODULE_SCRIPT => ModuleType::Script,
        WK_MODULE_TEXT => ModuleType::Text,
        WK_MODULE_JSON => ModuleType::Json,
        WK_MODULE_DATA => ModuleType::Data,
        other => return Err(invalid(format!("unknown module type {other}"))),
    })
}

/// Creates an empty source, for `wk_compile_and_cache`. `*out` is owned by the caller.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `out` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_source_new(
    out_source: *mut *mut wk_source_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_source, "out_source", std::ptr::null_mut())?;
        *o = Box::into_raw(Box::default());
        Ok(())
    })
}

/// Frees a source from `wk_source_new`. NULL is a no-op. Never call it on the source a loader
/// callback receives (libworker owns that one).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_source_free(src: *mut wk_source_t) {
    ffi_value((), || {
        if !src.is_null() {
            // SAFETY: a non-NULL source from `wk_source_new` is a Box freed only once.
            drop(unsafe { Box::from_raw(src) });
        }
    })
}

/// Names the entry-point module (UTF-8 `name[0..name_len]`). Optional: without it the first
/// module added is the main one. The name must match a module by the time the source is used.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL or invalid UTF-8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_source_set_main(
    src: *mut wk_source_t,
    name: *const c_char,
    name_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let s = handle_mut(src, "src")?;
        let name = text(name, name_len, "name")?;
        if name.is_empty() {
            return Err(invalid("name is empty"));
        }
        s.main = Some(name.to_string());
        Ok(())
    })
}

/// Adds a module: UTF-8 `name` (path-like, e.g. `"src/index.js"`; relative imports resolve
/// against it), its type, and a copy of `content[0..content_len]`. ESM, script, text and JSON
/// content must be UTF-8; data modules take any bytes (NULL is allowed when the length is 0).
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL, invalid UTF-8, an unknown type, an empty or
/// duplicate name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_source_add_module(
    src: *mut wk_source_t,
    name: *const c_char,
    name_len: usize,
    module_type: wk_module_type_t,
    content: *const u8,
    content_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let s = handle_mut(src, "src")?;
        let name = text(name, name_len, "name")?;
        let kind = parse_module_type(module_type)?;
        let content = bytes(content, content_len, "content")?;
        if name.is_empty() {
            return Err(invalid("module name is empty"));
        }
        if kind != ModuleType::Data
            && let Err(e) = std::str::from_utf8(content)
        {
            return Err(invalid(format!(
                "content of module {name:?} is not valid UTF-8 (invalid byte at offset {}); \
                 use WK_MODULE_DATA for binary content",
                e.valid_up_to()
            )));
        }
        if s.modules.iter().any(|m| m.name == name) {
            return Err(invalid(format!("module {name:?} was already added")));
        }
        s.modules.push(Module {
            name: name.to_string(),
            kind,
            content: content.to_vec(),
        });
        Ok(())
    })
}

/// Marks the source as failed with the UTF-8 message `msg[0..msg_len]` (invalid UTF-8 is
/// replaced). A loader calls this to explain why it cannot supply a worker; the request then
/// fails with `WK_E_NOT_FOUND` carrying this message, whatever status the loader returns.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_source_set_error(
    src: *mut wk_source_t,
    msg: *const c_char,
    msg_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let s = handle_mut(src, "src")?;
        let msg = bytes(msg.cast(), msg_len, "msg")?;
        s.error = Some(String::from_utf8_lossy(msg).into_owned());
        Ok(())
    })
}

/// The host's `load` callback: fill `out` with the modules of worker (site, deploy) through
/// `wk_source_set_main`/`wk_source_add_module` and return `WK_OK`, or call
/// `wk_source_set_error` and/or return an error status. `site` and `deploy` are UTF-8, borrowed
/// for the call, and NUL-terminated for convenience (`site_len`/`deploy_len` exclude the NUL).
/// `out` is owned by libworker and valid only during the call. Called from libworker's threads,
/// possibly several at once, never from inside JavaScript; it may block (e.g. on a database).
pub type wk_source_load_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        site: *const c_char,
        site_len: usize,
        deploy: *const c_char,
        deploy_len: usize,
        out: *mut wk_source_t,
    ) -> wk_status_t,
>;

/// Finalizer for a host's `user_data`, called exactly once when libworker no longer needs it.
pub type wk_user_data_free_cb = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Supplies worker code on demand. Set `struct_size = sizeof(wk_source_loader_vtable_t)`; later
/// ABI versions only add fields at the end. The vtable is copied by `wk_engine_new`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_source_loader_vtable_t {
    pub struct_size: u32,
    /// Required; see `wk_source_load_cb`.
    pub load: wk_source_load_cb,
}

/// Owns the host's `user_data`; the finalizer runs exactly once, when this is dropped.
pub(crate) struct UserData {
    pub(crate) ptr: *mut c_void,
    free: wk_user_data_free_cb,
}

// SAFETY: the ABI contract requires user_data (and its finalizer) to be usable from any thread,
// since loader callbacks run on libworker's threads.
unsafe impl Send for UserData {}
// SAFETY: as above; libworker only passes the pointer along, never dereferences it.
unsafe impl Sync for UserData {}

impl UserData {
    pub(crate) fn new(ptr: *mut c_void, free: wk_user_data_free_cb) -> Self {
        UserData { ptr, free }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.free.take() {
            // SAFETY: the host supplied this finalizer for this pointer; `take` makes sure it is
            // called at most once, and drop runs at most once.
            unsafe { f(self.ptr) };
        }
    }
}

/// A `SourceLoader` over the host's vtable.
pub(crate) struct CLoader {
    load: wk_source_load_cb,
    user_data: UserData,
}

impl CLoader {
    /// Copies and validates the vtable; `None` means "no loader" (every load fails).
    pub(crate) fn new(
        vtable: Option<&wk_source_loader_vtable_t>,
        user_data: UserData,
    ) -> Fallible<CLoader> {
        let load = match vtable {
            None => None,
            Some(v) => {
                check_struct_size(
                    v.struct_size,
                    size_of::<wk_source_loader_vtable_t>(),
                    "wk_source_loader_vtable_t",
                )?;
                if v.load.is_none() {
                    return Err(invalid("wk_source_loader_vtable_t.load is NULL"));
                }
                v.load
            }
        };
        Ok(CLoader { load, user_data })
    }
}

/// Largest `struct_size` accepted: larger values are certainly garbage.
const MAX_STRUCT_SIZE: u32 = 1 << 16;

pub(crate) fn check_struct_size(size: u32, known: usize, what: &str) -> Fallible<()> {
    if (size as usize) < known || size > MAX_STRUCT_SIZE {
        return Err(invalid(format!(
            "{what}.struct_size is {size}, expected sizeof({what}) = {known} (set it, or use the \
             matching _init function)"
        )));
    }
    Ok(())
}

/// Copies a host's versioned struct `what` (a vtable or options), passed as the argument
/// `param`, after checking its `struct_size`.
///
/// # Safety
/// `ptr` is NULL or points to a readable `#[repr(C)]` struct whose first field is
/// `struct_size: u32` and which is at least `struct_size` bytes long.
pub(crate) unsafe fn read_versioned<T: Copy>(
    ptr: *const T,
    param: &str,
    what: &str,
) -> Fallible<T> {
    if ptr.is_null() {
        return Err(invalid(format!("{param} is NULL")));
    }
    // SAFETY: the leading field is a u32, readable on its own whatever the struct's real size.
    let size = unsafe { ptr.cast::<u32>().read() };
    check_struct_size(size, size_of::<T>(), what)?;
    // SAFETY: struct_size covers the whole struct as we know it (checked above).
    Ok(unsafe { ptr.read() })
}

/// Fails naming the first callback of `what` that is NULL, given `(is_missing, field)` pairs.
pub(crate) fn require_callbacks(what: &str, callbacks: &[(bool, &str)]) -> Fallible<()> {
    match callbacks.iter().find(|(missing, _)| *missing) {
        Some((_, field)) => Err(invalid(format!("{what}.{field} is NULL"))),
        None => Ok(()),
    }
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

impl SourceLoader for CLoader {
    fn load(&self, site_id: &str, deploy_key: &str) -> Result<WorkerSource, String> {
        let Some(load) = self.load else {
            return Err(format!(
                "no source loader was given to wk_engine_new and {site_id}/{deploy_key} was \
                 not compiled with wk_compile_and_cache"
            ));
        };
        let site = nul_terminated(site_id);
        let deploy = nul_terminated(deploy_key);
        let mut src = wk_source_t::default();
        // SAFETY: `load` is the host's callback; every pointer passed is valid for the call
        // (NUL-terminated copies of site/deploy, an exclusively borrowed builder).
        let status = unsafe {
            load(
                self.user_data.ptr,
                site.as_ptr().cast(),
                site_id.len(),
                deploy.as_ptr().cast(),
                deploy_key.len(),
                &mut src,
            )
        };
        if let Some(e) = src.error.take() {
            return Err(e);
        }
        if status != WK_OK {
            return Err(format!(
                "source loader failed for {site_id}/{deploy_key} with status {status} ({})",
                status_name(status).to_string_lossy()
            ));
        }
        src.to_worker_source()
    }
}
