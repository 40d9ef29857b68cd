//! The embedded D1 database: one SQLite file per database, with D1's limits and error texts.
use crate::api::d1::{
    D1Database, D1DumpError, D1Error, D1Meta, D1Mode, D1Query, D1Response, D1Statement,
    D1StatementResult, D1Value,
};
use async_trait::async_trait;
use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::hooks::{AuthAction, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Batch, Connection, StatementStatus};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// D1's limits (d1/platform/limits), enforced by SQLite itself so the errors are SQLite's.
const LIMITS: &[(Limit, i32)] = &[
    // Bound parameters per query.
    (Limit::SQLITE_LIMIT_VARIABLE_NUMBER, 100),
    // SQL statement length, in bytes.
    (Limit::SQLITE_LIMIT_SQL_LENGTH, 100_000),
    // Columns per table.
    (Limit::SQLITE_LIMIT_COLUMN, 100),
    // String, BLOB or row size.
    (Limit::SQLITE_LIMIT_LENGTH, 2_000_000),
    // A D1 database is one database: ATTACH is refused.
    (Limit::SQLITE_LIMIT_ATTACHED, 0),
];

/// What Cloudflare's SQLite-backed storage answers to BEGIN, COMMIT, ROLLBACK and SAVEPOINT:
/// a D1 query cannot manage transactions itself (`batch()` is the transaction).
const NO_TRANSACTIONS: &str = "To execute a transaction, please use the state.storage.transaction() or state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements. The JavaScript API is safer because it will automatically roll back on exceptions, and because it interacts correctly with Durable Objects' automatic atomic write coalescing.";

const SERVED_BY: &str = "libworker.sqlite";

/// The connection and what its authorizer shares with the statements it runs.
struct Conn {
    conn: Connection,
    /// True while the worker's SQL is being prepared (our own BEGIN/COMMIT must pass).
    guard: Arc<AtomicBool>,
    /// Set when the authorizer refused a transaction statement, to report D1's text.
    refused_transaction: Arc<AtomicBool>,
}

/// A D1 database kept in a SQLite file. Each call runs on tokio's blocking pool. Statements of a
/// `query` call run in one transaction; `exec` lines commit one by one. Bookmarks are the time
/// (in microseconds, hex) of the last write this store committed, so they order as D1's do.
#[derive(Clone)]
pub struct SqliteD1 {
    conn: Arc<Mutex<Conn>>,
    path: PathBuf,
    dump: bool,
    bookmark: Arc<AtomicU64>,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl SqliteD1 {
    /// Opens (creating it and its directory as needed) the database file at `path`. `dump()`
    /// returns the file; see [`SqliteD1::with_dump`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteD1, String> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let guard = Arc::new(AtomicBool::new(false));
        let refused_transaction = Arc::new(AtomicBool::new(false));
        let conn = Connection::open(path)
            .and_then(|mut c| {
                c.pragma_update(None, "journal_mode", "wal")?;
                c.pragma_update(None, "synchronous", "normal")?;
                // D1 enforces foreign keys by default.
                c.pragma_update(None, "foreign_keys", "on")?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                for &(limit, value) in LIMITS {
                    c.set_limit(limit, value)?;
                }
                let (g, refused) = (guard.clone(), refused_transaction.clone());
                c.authorizer(Some(move |ctx: rusqlite::hooks::AuthContext<'_>| {
                    if !g.load(Ordering::Relaxed) {
                        return Authorization::Allow;
                    }
                    match ctx.action {
                        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
                            refused.store(true, Ordering::Relaxed);
                            Authorization::Deny
                        }
                        AuthAction::Attach { .. } | AuthAction::Detach { .. } => {
                            Authorization::Deny
                        }
                        _ => Authorization::Allow,
                    }
                }))?;
                Ok(c)
            })
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(SqliteD1 {
            conn: Arc::new(Mutex::new(Conn {
                conn,
                guard,
                refused_transaction,
            })),
            path: path.to_path_buf(),
            dump: true,
            bookmark: Arc::new(AtomicU64::new(now_micros())),
        })
    }

    /// Whether `dump()` returns the database file (the default) or fails as it does on
    /// Cloudflare for every database but the deprecated alpha ones (`D1_DUMP_ERROR: Status +
    /// 404`), which is what `wk serve` chooses to behave like a deployed worker.
    pub fn with_dump(mut self, enabled: bool) -> Self {
        self.dump = enabled;
        self
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> T + Send + 'static,
    ) -> Option<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .ok()
    }
}

#[async_trait]
impl D1Database for SqliteD1 {
    async fn query(&self, query: D1Query) -> Result<D1Response, D1Error> {
        let bookmark = self.bookmark.clone();
        self.blocking(move |c| {
            let results = match query.mode {
                D1Mode::Query => run_in_transaction(c, &query.statements)?,
                D1Mode::Exec => run_each(c, &query.statements)?,
            };
            // A write moves the bookmark forward; reads report the current one.
            let wrote = results.iter().any(|r| r.meta.changed_db);
            let mark = if wrote {
                let now = now_micros();
                let prev = bookmark
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                        Some(b.saturating_add(1).max(now))
                    })
                    .unwrap_or(now);
                prev.saturating_add(1).max(now)
            } else {
                bookmark.load(Ordering::Acquire)
            };
            Ok(D1Response {
                results,
                bookmark: Some(format!("{mark:016x}")),
            })
        })
        .await
        .unwrap_or_else(|| Err(D1Error::new("the database task failed")))
    }

    async fn dump(&self) -> Result<Vec<u8>, D1DumpError> {
        if !self.dump {
            return Err(D1DumpError::Unsupported);
        }
        // VACUUM INTO writes a consistent copy (committed data, WAL included) to a new file.
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let copy = self.path.with_extension(format!(
            "dump-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        self.blocking(move |c| {
            let _ = std::fs::remove_file(&copy);
            // VACUUM INTO attaches its target, which the worker's SQL may not do.
            let _ = c.conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 1);
            let out = c
                .conn
                .execute("VACUUM INTO ?1", [copy.to_string_lossy().as_ref()])
                .map_err(|e| D1DumpError::Failed(e.to_string()))
                .and_then(|_| std::fs::read(&copy).map_err(|e| D1DumpError::Failed(e.to_string())));
            let _ = c.conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
            let _ = std::fs::remove_file(&copy);
            out
        })
        .await
        .unwrap_or_else(|| Err(D1DumpError::Failed("the database task failed".into())))
    }
}

fn run_in_transaction(
    c: &mut Conn,
    statements: &[D1Statement],
) -> Result<Vec<D1StatementResult>, D1Error> {
    c.conn
        .execute_batch("BEGIN")
        .map_err(|e| D1Error::new(message(&e)))?;
    let mut results = Vec::with_capacity(statements.len());
    for (i, st) in statements.iter().enumerate() {
        match run_statement(c, st) {
            Ok(r) => results.push(r),
            Err(msg) => {
                // Nothing of a failed call is kept.
                let _ = c.conn.execute_batch("ROLLBACK");
                return Err(D1Error::at(i, msg));
            }
        }
    }
    if let Err(e) = c.conn.execute_batch("COMMIT") {
        let _ = c.conn.execute_batch("ROLLBACK");
        return Err(D1Error::new(message(&e)));
    }
    // size_after is the size once the whole call committed.
    let size = size(&c.conn);
    for r in &mut results {
        r.meta.size_after = size;
    }
    Ok(results)
}

fn run_each(c: &mut Conn, statements: &[D1Statement]) -> Result<Vec<D1StatementResult>, D1Error> {
    let mut results = Vec::with_capacity(statements.len());
    for (i, st) in statements.iter().enumerate() {
        let mut r = run_statement(c, st).map_err(|msg| D1Error::at(i, msg))?;
        r.meta.size_after = size(&c.conn);
        results.push(r);
    }
    Ok(results)
}

fn size(conn: &Connection) -> u64 {
    let pragma = |name: &str| -> u64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
            .map_or(0, |v| v.max(0) as u64)
    };
    pragma("page_count") * pragma("page_size")
}

fn schema_version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA schema_version", [], |r| r.get(0))
        .unwrap_or(0)
}

/// Runs one D1 statement: its SQL may hold several statements, run in order; as in workerd,
/// only the last may have parameters, and the rows are the last one's. Returns the message the
/// worker sees after `D1_ERROR: `.
fn run_statement(c: &mut Conn, st: &D1Statement) -> Result<D1StatementResult, String> {
    let started = Instant::now();
    let conn = &c.conn;
    let changes_before = conn.total_changes();
    let mut result = D1StatementResult::default();
    let (mut rows_read, mut ddl_writes, mut ran) = (0u64, 0u64, 0usize);
    let mut bound = false;

    c.refused_transaction.store(false, Ordering::Relaxed);
    let mut batch = Batch::new(conn, &st.sql);
    loop {
        c.guard.store(true, Ordering::Relaxed);
        let next = batch.next();
        c.guard.store(false, Ordering::Relaxed);
        let mut stmt = match next {
            Ok(Some(stmt)) => stmt,
            Ok(None) => break,
            Err(_) if c.refused_transaction.load(Ordering::Relaxed) => {
                return Err(NO_TRANSACTIONS.into());
            }
            Err(e) => return Err(message(&e)),
        };
        // A statement after one that took the parameters: that one was not the last. (In a
        // query call the transaction undoes what it did.)
        if bound {
            return Err(MULTI_PARAMS.into());
        }
        ran += 1;
        let wanted = stmt.parameter_count();
        if wanted > 0 {
            if wanted != st.params.len() {
                return Err(WRONG_BINDINGS.into());
            }
            for (j, v) in st.params.iter().enumerate() {
                bind(&mut stmt, j + 1, v).map_err(|e| message(&e))?;
            }
            bound = true;
        }

        let schema_before = (!stmt.readonly()).then(|| schema_version(conn));
        let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let n = columns.len();
        let mut cells = Vec::new();
        let mut returned = 0u64;
        {
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(|e| message(&e))? {
                for i in 0..n {
                    cells.push(value(row.get_ref(i).map_err(|e| message(&e))?));
                }
                returned += 1;
            }
        }
        // SQLite counts the steps from one row to the next in full-table scans (so a scan of n
        // rows takes n - 1); rows found through an index are at least the rows returned.
        let steps = stmt.get_status(StatementStatus::FullscanStep).max(0) as u64;
        let scanned = if steps > 0 { steps + 1 } else { 0 };
        rows_read += scanned.max(returned);
        if let Some(before) = schema_before
            && schema_version(conn) != before
        {
            // A schema change writes the schema table.
            ddl_writes += 1;
        }
        result.columns = columns;
        result.rows = cells;
    }
    if ran == 0 {
        return Err("No SQL statements detected.".into());
    }
    if !bound && !st.params.is_empty() {
        return Err(WRONG_BINDINGS.into());
    }
    let changes = conn.total_changes() - changes_before;
    let rows_written = changes + ddl_writes;
    result.meta = D1Meta {
        duration: started.elapsed().as_secs_f64() * 1000.0,
        changes,
        last_row_id: conn.last_insert_rowid(),
        rows_read,
        rows_written,
        changed_db: rows_written > 0,
        size_after: 0,
        served_by: Some(SERVED_BY.into()),
        served_by_region: None,
        served_by_primary: Some(true),
    };
    Ok(result)
}

const MULTI_PARAMS: &str = "When executing multiple SQL statements in a single call, only the last statement can have parameters.";
const WRONG_BINDINGS: &str = "Wrong number of parameter bindings for SQL query.";

fn bind(stmt: &mut rusqlite::Statement<'_>, i: usize, v: &D1Value) -> rusqlite::Result<()> {
    match v {
        D1Value::Null => stmt.raw_bind_parameter(i, rusqlite::types::Null),
        D1Value::Integer(x) => stmt.raw_bind_parameter(i, x),
        D1Value::Real(x) => stmt.raw_bind_parameter(i, x),
        D1Value::Text(x) => stmt.raw_bind_parameter(i, x.as_str()),
        D1Value::Blob(x) => stmt.raw_bind_parameter(i, x.as_slice()),
    }
}

fn value(v: ValueRef<'_>) -> D1Value {
    match v {
        ValueRef::Null => D1Value::Null,
        ValueRef::Integer(i) => D1Value::Integer(i),
        ValueRef::Real(r) => D1Value::Real(r),
        ValueRef::Text(t) => D1Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => D1Value::Blob(b.to_vec()),
    }
}

/// SQLite's message the way workerd's SQLite layer words it: `<message>[ at offset N]: <CODE>`,
/// with the extended code when it says more (`SQLITE_CONSTRAINT (extended:
/// SQLITE_CONSTRAINT_UNIQUE)`).
fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(err, msg) => {
            let text = msg
                .clone()
                .unwrap_or_else(|| rusqlite::ffi::code_to_str(err.extended_code).to_string());
            format!("{text}: {}", code_names(err.extended_code))
        }
        rusqlite::Error::SqlInputError {
            error, msg, offset, ..
        } => format!(
            "{msg} at offset {offset}: {}",
            code_names(error.extended_code)
        ),
        other => other.to_string(),
    }
}

fn code_names(extended: i32) -> String {
    let primary = extended & 0xff;
    let p = code_name(primary);
    if extended != primary
        && let Some(x) = extended_name(extended)
    {
        return format!("{p} (extended: {x})");
    }
    p.to_string()
}

fn code_name(code: i32) -> &'static str {
    match code {
        1 => "SQLITE_ERROR",
        2 => "SQLITE_INTERNAL",
        3 => "SQLITE_PERM",
        4 => "SQLITE_ABORT",
        5 => "SQLITE_BUSY",
        6 => "SQLITE_LOCKED",
        7 => "SQLITE_NOMEM",
        8 => "SQLITE_READONLY",
        9 => "SQLITE_INTERRUPT",
        10 => "SQLITE_IOERR",
        11 => "SQLITE_CORRUPT",
        12 => "SQLITE_NOTFOUND",
        13 => "SQLITE_FULL",
        14 => "SQLITE_CANTOPEN",
        15 => "SQLITE_PROTOCOL",
        16 => "SQLITE_EMPTY",
        17 => "SQLITE_SCHEMA",
        18 => "SQLITE_TOOBIG",
        19 => "SQLITE_CONSTRAINT",
        20 => "SQLITE_MISMATCH",
        21 => "SQLITE_MISUSE",
        22 => "SQLITE_NOLFS",
        23 => "SQLITE_AUTH",
        24 => "SQLITE_FORMAT",
        25 => "SQLITE_RANGE",
        26 => "SQLITE_NOTADB",
        _ => "SQLITE_ERROR",
    }
}

fn extended_name(code: i32) -> Option<&'static str> {
    Some(match code {
        275 => "SQLITE_CONSTRAINT_CHECK",
        531 => "SQLITE_CONSTRAINT_COMMITHOOK",
        787 => "SQLITE_CONSTRAINT_FOREIGNKEY",
        1043 => "SQLITE_CONSTRAINT_FUNCTION",
        1299 => "SQLITE_CONSTRAINT_NOTNULL",
        1555 => "SQLITE_CONSTRAINT_PRIMARYKEY",
        1811 => "SQLITE_CONSTRAINT_TRIGGER",
        2067 => "SQLITE_CONSTRAINT_UNIQUE",
        2323 => "SQLITE_CONSTRAINT_VTAB",
        2579 => "SQLITE_CONSTRAINT_ROWID",
        3091 => "SQLITE_CONSTRAINT_DATATYPE",
        _ => return None,
    })
}
