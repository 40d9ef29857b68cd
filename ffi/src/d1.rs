//! D1 databases implemented by the host (`wk_d1_vtable_t`), and the embedded SQLite database.
//!
//! Statements and results cross as JSON: a C host hands SQL to its own engine, so a readable,
//! self-describing format costs little next to running the query.
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use worker_core::d1::{
    D1Database, D1DumpError, D1Error, D1Meta, D1Mode, D1Query, D1Response, D1StatementResult,
    D1Value,
};
use worker_core::stores::SqliteD1;

use crate::completion::*;
use crate::env::{add_binding, wk_env_t};
use crate::error::*;
use crate::source::{UserData, read_versioned, require_callbacks, wk_user_data_free_cb};

/// `query`: run statements and settle `completion`. `query_json[0..query_len]` (UTF-8,
/// NUL-terminated; the length excludes the NUL, borrowed for the call) is
///
/// ```text
/// {"mode": "query" | "exec",
///  "session": "first-primary" | "first-unconstrained" | "<bookmark>",
///  "statements": [{"sql": "SELECT ?1, ?2", "params": [1, 2.5, "text", null, [104, 105]]}]}
/// ```
///
/// (Object keys may come in any order.) Parameters are positional (`?` and `?NNN`, which means `params[NNN-1]`) and typed by their
/// JSON form: `null` is NULL; a number without a fraction or exponent is an INTEGER (any
/// 64-bit value, written exactly); a number with a `.` or an exponent is a REAL (`2.0`); a
/// string is TEXT; an array of byte values (0..255) is a BLOB. (Non-finite REALs, which
/// JSON cannot hold, arrive as `null`, which is how SQLite stores NaN anyway.)
///
/// Mode `"query"` (`prepare()...all/first/raw/run()` and `batch()`): run every statement in one
/// transaction; if any fails, roll all back. Mode `"exec"` (`exec()`, one statement per line,
/// no parameters): run them in order, each committed on its own, stopping at the first failure.
/// `session` says which copy a replicated database may answer from; a single copy ignores it.
///
/// Resolve (`wk_completion_resolve`) with JSON, one result per statement, in order:
///
/// ```text
/// {"results": [{"columns": ["id", "name"], "rows": [[1, "a"], [2, null]],
///               "meta": {"duration": 0.2, "changes": 0, "last_row_id": 0, "rows_read": 2,
///                        "rows_written": 0, "changed_db": false, "size_after": 8192,
///                        "served_by": "my-host", "served_by_region": "EU",
///                        "served_by_primary": true}}],
///  "bookmark": "000001"}
/// ```
///
/// Cells use the parameters' encoding (integers beyond 2^53 are fine in the JSON; the worker
/// sees them as numbers, as on Cloudflare). Every `meta` field, `meta` itself and `bookmark` may
/// be left out (0, false, absent). A bookmark is an opaque string that must compare greater for
/// newer states of the database; sessions hand the newest one back.
///
/// When a statement fails, resolve with `{"error": "<message>", "statement": <index>}`: the
/// worker's promise rejects with `D1_ERROR: <message>` (for `exec`, `D1_EXEC_ERROR: Error in
/// line <index+1>: <line>: <message>`), with the message alone as the error's `cause`.
/// `wk_completion_reject` means the call failed as a whole (the database is unreachable, say):
/// the worker sees `D1_ERROR: <message>` in every mode, as Cloudflare reports a failed request.
///
/// Called on a libworker executor thread, which other workers share: it must not block. Settle
/// inline when the answer is at hand, or later from any thread.
pub type wk_d1_query_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        query_json: *const c_char,
        query_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `dump` (optional; the deprecated `dump()`): resolve with the database file's bytes (SQLite
/// format), or with `wk_completion_resolve_null` if the database offers no dumps. A rejection is
/// a failure. As on Cloudflare the worker sees only a status: `D1_DUMP_ERROR: Status + 404` for
/// "no dumps" (also what a NULL `dump` gives), `Status + 500` for a failure. Same threading
/// rules as `query`.
pub type wk_d1_dump_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, completion: *mut wk_completion_t)>;

/// A D1 database the host implements. Set `struct_size = sizeof(wk_d1_vtable_t)`; later ABI
/// versions only add fields at the end. `query` is required, `dump` may be NULL. The runtime
/// does what Cloudflare's binding does on the client (bind() type checks and their
/// `D1_TYPE_ERROR`s, result shapes, sessions, error prefixes); the database runs SQL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_d1_vtable_t {
    pub struct_size: u32,
    pub query: wk_d1_query_cb,
    pub dump: wk_d1_dump_cb,
}

/// A `D1Database` over the host's vtable.
struct CD1 {
    vtable: wk_d1_vtable_t,
    user_data: UserData,
}

fn value_json(v: &D1Value) -> Value {
    match v {
        D1Value::Null => Value::Null,
        D1Value::Integer(i) => json!(i),
        // serde_json writes 2.0 as `2.0`, so a REAL never looks like an INTEGER.
        D1Value::Real(r) => serde_json::Number::from_f64(*r).map_or(Value::Null, Value::Number),
        D1Value::Text(t) => Value::String(t.clone()),
        D1Value::Blob(b) => Value::Array(b.iter().map(|x| json!(x)).collect()),
    }
}

fn query_json(q: &D1Query) -> Vec<u8> {
    let statements: Vec<Value> = q
        .statements
        .iter()
        .map(|s| json!({"sql": s.sql, "params": s.params.iter().map(value_json).collect::<Vec<_>>()}))
        .collect();
    let mode = match q.mode {
        D1Mode::Query => "query",
        D1Mode::Exec => "exec",
    };
    let mut text =
        serde_json::to_vec(&json!({"mode": mode, "session": q.session, "statements": statements}))
            .unwrap_or_default();
    text.push(0);
    text
}

fn cell(v: &Value) -> Result<D1Value, String> {
    Ok(match v {
        Value::Null => D1Value::Null,
        Value::Bool(b) => D1Value::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => D1Value::Integer(i),
            None => D1Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => D1Value::Text(s.clone()),
        Value::Array(items) => D1Value::Blob(
            items
                .iter()
                .map(|b| {
                    b.as_u64()
                        .filter(|&x| x < 256)
                        .map(|x| x as u8)
                        .ok_or("a BLOB must be an array of byte values (0..255)")
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(_) => return Err("a cell cannot be an object".into()),
    })
}

fn meta(m: Option<&Map<String, Value>>) -> D1Meta {
    let empty = Map::new();
    let m = m.unwrap_or(&empty);
    let num = |k: &str| m.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let count = |k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0);
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    D1Meta {
        duration: num("duration"),
        changes: count("changes"),
        last_row_id: m.get("last_row_id").and_then(Value::as_i64).unwrap_or(0),
        rows_read: count("rows_read"),
        rows_written: count("rows_written"),
        changed_db: m
            .get("changed_db")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        size_after: count("size_after"),
        served_by: text("served_by"),
        served_by_region: text("served_by_region"),
        served_by_primary: m.get("served_by_primary").and_then(Value::as_bool),
    }
}

/// The host's answer: results, or a statement's failure.
fn parse_answer(json: &[u8], statements: usize) -> Result<Result<D1Response, D1Error>, String> {
    let v: Value = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    if let Some(error) = v.get("error") {
        let message = error
            .as_str()
            .ok_or("`error` must be a string")?
            .to_string();
        let statement = match v.get("statement") {
            None | Some(Value::Null) => None,
            Some(i) => Some(
                i.as_u64()
                    .filter(|&i| (i as usize) < statements)
                    .ok_or("`statement` must be the index of one of the statements")?
                    as usize,
            ),
        };
        return Ok(Err(D1Error { message, statement }));
    }
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .ok_or("`results` must be an array")?;
    if results.len() != statements {
        return Err(format!(
            "{} results for {statements} statements",
            results.len()
        ));
    }
    let results = results
        .iter()
        .map(|r| {
            let columns: Vec<String> = match r.get("columns") {
                None => Vec::new(),
                Some(c) => c
                    .as_array()
                    .ok_or("`columns` must be an array of strings")?
                    .iter()
                    .map(|c| c.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or("`columns` must be an array of strings")?,
            };
            let mut cells = Vec::new();
            if let Some(rows) = r.get("rows") {
                for row in rows.as_array().ok_or("`rows` must be an array of arrays")? {
                    let row = row.as_array().ok_or("`rows` must be an array of arrays")?;
                    if row.len() != columns.len() {
                        return Err(format!(
                            "a row has {} cells for {} columns",
                            row.len(),
                            columns.len()
                        ));
                    }
                    for c in row {
                        cells.push(cell(c)?);
                    }
                }
            }
            Ok(D1StatementResult {
                columns,
                rows: cells,
                meta: meta(r.get("meta").and_then(Value::as_object)),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Ok(D1Response {
        results,
        bookmark: v
            .get("bookmark")
            .and_then(Value::as_str)
            .map(str::to_string),
    }))
}

#[async_trait]
impl D1Database for CD1 {
    async fn query(&self, query: D1Query) -> Result<D1Response, D1Error> {
        let text = query_json(&query);
        let (c, rx) = completion_pair();
        let cb = self.vtable.query.expect("validated");
        // SAFETY: the host's callback with its own user_data; the JSON is valid for the call.
        unsafe { cb(self.user_data.ptr, text.as_ptr().cast(), text.len() - 1, c) };
        match rx.await.map_err(D1Error::new)? {
            Completed::Bytes(answer) => parse_answer(&answer, query.statements.len())
                .unwrap_or_else(|e| {
                    Err(D1Error::new(format!(
                        "the host's D1 query result is not valid: {e}"
                    )))
                }),
            _ => Err(D1Error::new(
                "the host's D1 query must resolve with JSON text",
            )),
        }
    }

    async fn dump(&self) -> Result<Vec<u8>, D1DumpError> {
        let Some(cb) = self.vtable.dump else {
            return Err(D1DumpError::Unsupported);
        };
        let (c, rx) = completion_pair();
        // SAFETY: the host's callback with its own user_data.
        unsafe { cb(self.user_data.ptr, c) };
        match rx.await {
            Ok(Completed::Bytes(b)) => Ok(b),
            Ok(Completed::Null) => Err(D1DumpError::Unsupported),
            Ok(_) => Err(D1DumpError::Failed(
                "the host's D1 dump must resolve with bytes".into(),
            )),
            Err(e) => Err(D1DumpError::Failed(e)),
        }
    }
}

fn add_d1(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    db: Arc<dyn D1Database>,
) -> Fallible<()> {
    add_binding(env, name, name_len, |e, name| {
        e.d1.insert(name, db);
    })
}

/// Binds the D1 database `name` (UTF-8 `name[0..name_len]`; `env.NAME` in the worker) to the
/// host's database. The vtable is copied. `user_data` is passed to every callback, from
/// libworker's executor threads, so it must be usable from any thread; `user_data_free` (may be
/// NULL) is called exactly once when no env or worker uses the database any more (possibly on
/// one of libworker's threads), or before this function returns if it fails. Adding a name
/// again replaces the binding. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, an empty or invalid UTF-8 name, a bad
/// `struct_size` or a NULL `query`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_d1(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    vtable: *const wk_d1_vtable_t,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, move || {
        // SAFETY: the host passes NULL or a readable vtable of `struct_size` bytes (API contract).
        let vtable = unsafe { read_versioned(vtable, "vtable", "wk_d1_vtable_t") }?;
        require_callbacks("wk_d1_vtable_t", &[(vtable.query.is_none(), "query")])?;
        add_d1(env, name, name_len, Arc::new(CD1 { vtable, user_data }))
    })
}

/// Binds the D1 database `name` to libworker's embedded database: a SQLite file at `path`
/// (UTF-8 `path[0..path_len]`, created with its directory if missing), whose data survives
/// restarts. It enforces D1's limits (100 bound parameters, 100,000-byte statements, 100
/// columns, 2,000,000-byte values), reports SQLite's errors in workerd's wording, and its
/// `dump()` returns the database file. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or invalid UTF-8; `WK_E_INTERNAL` if the
/// file cannot be opened or created (the message names it and why).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_d1_default(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let path = text(path, path_len, "path")?;
        let db = SqliteD1::open(path).map_err(|e| wk_error_t::new(WK_E_INTERNAL, "internal", e))?;
        add_d1(env, name, name_len, Arc::new(db))
    })
}
