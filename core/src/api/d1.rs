//! D1: the SQL database interface a host implements, and the ops behind `D1Database` (`d1.js`).
//!
//! The JS side does what workerd's `d1-api.ts` does on the client (bind validation, result
//! shapes, error prefixes, sessions); a database only runs statements. A D1 host speaks SQL, so
//! the interface is the one D1's own backend protocol has: a list of statements with positional
//! parameters in, one result (columns, rows, meta) per statement out.
use super::host::{self, HostError};
use crate::engine::worker::IsolateState;
use crate::v8::{Scope, Type};
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;

/// A SQL value: a bound parameter or a result cell, in SQLite's five storage classes.
#[derive(Clone, Debug, PartialEq)]
pub enum D1Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// One statement and its positional parameters (`?` and `?NNN`; `?NNN` refers to
/// `params[NNN - 1]`).
#[derive(Clone, Debug, PartialEq)]
pub struct D1Statement {
    pub sql: String,
    pub params: Vec<D1Value>,
}

/// How a call's statements run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum D1Mode {
    /// `prepare(...).all/first/raw/run()` (one statement) and `batch()`: every statement in one
    /// transaction. If any fails, nothing is kept and the call fails naming that statement.
    Query,
    /// `exec()`: the statements (one per input line, no parameters) run one after another, each
    /// committed on its own; the first failure stops the run and the earlier ones stay, as D1's
    /// documentation says. Rows are not needed (only counts and meta are reported).
    Exec,
}

/// The session a call belongs to: `"first-primary"`, `"first-unconstrained"` or a bookmark a
/// previous call returned (`withSession(bookmark)`). Calls outside a session (`env.DB.prepare`)
/// say `"first-primary"`. A single-copy database may ignore it.
pub type D1SessionConstraint = String;

/// A call to run.
#[derive(Clone, Debug, PartialEq)]
pub struct D1Query {
    pub statements: Vec<D1Statement>,
    pub mode: D1Mode,
    pub session: D1SessionConstraint,
}

/// What D1 reports beside each statement's rows (`result.meta`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct D1Meta {
    /// Milliseconds the statement took.
    pub duration: f64,
    /// Rows changed by INSERT, UPDATE or DELETE (0 for other statements).
    pub changes: u64,
    /// The rowid of the connection's most recent successful INSERT.
    pub last_row_id: i64,
    pub rows_read: u64,
    pub rows_written: u64,
    /// Whether the statement modified the database.
    pub changed_db: bool,
    /// The database's size in bytes after the statement.
    pub size_after: u64,
    /// Which database instance answered (Cloudflare reports e.g. `"v3-prod"`).
    pub served_by: Option<String>,
    pub served_by_region: Option<String>,
    /// Whether the primary (rather than a read replica) answered.
    pub served_by_primary: Option<bool>,
}

/// One statement's outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct D1StatementResult {
    /// Result column names in order (duplicates allowed); empty for statements without rows.
    pub columns: Vec<String>,
    /// The cells, row after row: `columns.len()` values per row.
    pub rows: Vec<D1Value>,
    pub meta: D1Meta,
}

impl D1StatementResult {
    /// The rows, each a slice of `columns.len()` cells.
    pub fn rows(&self) -> impl Iterator<Item = &[D1Value]> {
        self.rows.chunks(self.columns.len().max(1))
    }
}

/// A successful call: one result per statement, and the session bookmark after it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct D1Response {
    pub results: Vec<D1StatementResult>,
    /// An opaque, totally ordered position in the database's history (newer bookmarks compare
    /// greater as strings); `withSession(bookmark)` hands it back. None: the host has none.
    pub bookmark: Option<String>,
}

/// A failed call. `message` is the database's text (the worker sees `D1_ERROR: <message>`, or
/// for `exec()` `D1_EXEC_ERROR: Error in line N: <line>: <message>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct D1Error {
    pub message: String,
    /// The index of the statement that failed. None: the call failed as a whole (the host could
    /// not be reached, say); the worker then sees `D1_ERROR: <message>` in every mode.
    pub statement: Option<usize>,
}

impl D1Error {
    /// A failure of the whole call.
    pub fn new(message: impl Into<String>) -> Self {
        D1Error {
            message: message.into(),
            statement: None,
        }
    }

    /// The failure of statement `index`.
    pub fn at(index: usize, message: impl Into<String>) -> Self {
        D1Error {
            message: message.into(),
            statement: Some(index),
        }
    }
}

impl fmt::Display for D1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.statement {
            Some(i) => write!(f, "statement {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for D1Error {}

/// Why `dump()` failed. workerd reports a failed dump only by the backend's HTTP status, as
/// `D1_DUMP_ERROR: Status + <status>`; the worker sees nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum D1DumpError {
    /// The database does not offer dumps. On Cloudflare only the deprecated alpha databases
    /// do, so this is what every current database answers (status 404).
    Unsupported,
    /// The dump failed (status 500); the message is for the host's logs.
    Failed(String),
}

impl D1DumpError {
    /// The status the worker's error reports.
    pub fn status(&self) -> u16 {
        match self {
            D1DumpError::Unsupported => 404,
            D1DumpError::Failed(_) => 500,
        }
    }
}

/// A D1 database. Methods may complete on any thread. `query` in [`D1Mode::Query`] must be
/// atomic: all of its statements take effect, or none.
#[async_trait]
pub trait D1Database: Send + Sync {
    async fn query(&self, query: D1Query) -> Result<D1Response, D1Error>;

    /// The database file (SQLite format), for the deprecated `dump()`.
    async fn dump(&self) -> Result<Vec<u8>, D1DumpError> {
        Err(D1DumpError::Unsupported)
    }
}

fn database(state: &IsolateState, s: &mut Scope) -> Option<Arc<dyn D1Database>> {
    let db = state.binding(s.to_number(1) as usize).and_then(|b| b.d1());
    if db.is_none() {
        s.throw("Error", "D1 database binding is no longer available");
    }
    db
}

/// The parameter at the top of the stack. `bind()` has already turned every accepted JS value
/// into null, a number, a string or a Uint8Array.
fn param(s: &mut Scope, idx: i32) -> D1Value {
    match s.type_of(idx) {
        Type::Null | Type::Undefined => D1Value::Null,
        Type::Number => number(s.to_number(idx)),
        Type::Bytes => D1Value::Blob(s.bytes(idx).map(|b| b.to_vec()).unwrap_or_default()),
        _ => D1Value::Text(s.to_string(idx)),
    }
}

/// D1's documented conversion: integral numbers bind as INTEGER, others as REAL. Integral
/// numbers beyond the 64-bit range stay REAL, as SQLite would store them.
fn number(v: f64) -> D1Value {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
        D1Value::Integer(v as i64)
    } else {
        D1Value::Real(v)
    }
}

/// Reads `[sql, params, sql, params, ...]` at `idx`.
fn statements(s: &mut Scope, idx: i32) -> Vec<D1Statement> {
    let n = s.array_length(idx) / 2;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        s.get_index(idx, 2 * i);
        let sql = s.to_string(s.top() - 1);
        s.get_index(idx, 2 * i + 1);
        let list = s.top() - 1;
        let count = s.array_length(list);
        let mut params = Vec::with_capacity(count as usize);
        for j in 0..count {
            s.get_index(list, j);
            params.push(param(s, s.top() - 1));
            s.settop(s.top() - 1);
        }
        s.settop(s.top() - 2);
        out.push(D1Statement { sql, params });
    }
    out
}

fn push_value(s: &mut Scope, v: &D1Value) {
    match v {
        D1Value::Null => s.push_null(),
        // D1 hands integers to JavaScript as numbers; beyond 2^53 they lose precision there too.
        D1Value::Integer(i) => s.push_number(*i as f64),
        D1Value::Real(r) => s.push_number(*r),
        D1Value::Text(t) => s.push_str(t),
        // A Uint8Array; the JS turns it into the array of byte numbers D1 returns.
        D1Value::Blob(b) => s.push_bytes(b),
    }
}

fn push_opt_str(s: &mut Scope, v: Option<&str>) {
    match v {
        Some(v) => s.push_str(v),
        None => s.push_null(),
    }
}

/// `[columns, cells, [duration, changes, last_row_id, rows_read, rows_written, changed_db,
/// size_after, served_by, served_by_region, served_by_primary]]`
fn push_result(s: &mut Scope, r: &D1StatementResult) {
    s.push_strings(&r.columns);
    for v in &r.rows {
        push_value(s, v);
    }
    s.push_array(r.rows.len() as i32);
    let m = &r.meta;
    s.push_number(m.duration);
    s.push_number(m.changes as f64);
    s.push_number(m.last_row_id as f64);
    s.push_number(m.rows_read as f64);
    s.push_number(m.rows_written as f64);
    s.push_bool(m.changed_db);
    s.push_number(m.size_after as f64);
    push_opt_str(s, m.served_by.as_deref());
    push_opt_str(s, m.served_by_region.as_deref());
    match m.served_by_primary {
        Some(b) => s.push_bool(b),
        None => s.push_null(),
    }
    s.push_array(10);
    s.push_array(3);
}

/// op_d1_query(callId, binding, mode, session, [sql, params, ...]) -> `[bookmark, null,
/// results]` on success, `[null, [statementIndex, message], null]` when a statement failed.
/// A failure of the whole call rejects with the host's message.
pub(super) fn op_d1_query(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(db) = database(state, s) else { return };
    let mode = if s.to_number(2) == 1.0 {
        D1Mode::Exec
    } else {
        D1Mode::Query
    };
    let session = s.to_string(3);
    let statements = statements(s, 4);
    let query = D1Query {
        statements,
        mode,
        session,
    };
    host::spawn(
        state,
        s,
        async move {
            match db.query(query).await {
                Ok(r) => Ok(Ok(r)),
                Err(D1Error {
                    statement: Some(i),
                    message,
                }) => Ok(Err((i, message))),
                Err(D1Error { message, .. }) => Err(HostError::new(message)),
            }
        },
        |s, outcome| match outcome {
            Ok(r) => {
                push_opt_str(s, r.bookmark.as_deref());
                s.push_null();
                for result in &r.results {
                    push_result(s, result);
                }
                s.push_array(r.results.len() as i32);
                s.push_array(3);
            }
            Err((i, message)) => {
                s.push_null();
                s.push_number(i as f64);
                s.push_str(&message);
                s.push_array(2);
                s.push_null();
                s.push_array(3);
            }
        },
    );
}

/// op_d1_dump(callId, binding) -> Uint8Array of the database file, or the failure's status.
pub(super) fn op_d1_dump(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(db) = database(state, s) else { return };
    host::spawn(
        state,
        s,
        async move { Ok(db.dump().await) },
        |s, outcome| match outcome {
            Ok(bytes) => s.push_bytes(&bytes),
            Err(e) => s.push_number(e.status() as f64),
        },
    );
}
