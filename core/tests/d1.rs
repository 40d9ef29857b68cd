//! D1 bindings: the embedded SQLite database through the worker's API (values, meta, batch
//! atomicity, exec, errors, sessions, dump, persistence), and host databases written in Rust
//! that answer later from another thread or fail.
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use worker_core::d1::*;
use worker_core::stores::SqliteD1;
use worker_core::*;

fn config() -> EngineConfig {
    EngineConfig {
        pool_size: 1,
        ..Default::default()
    }
}

fn run(code: &str, env: Env) -> ExecuteResult {
    let code = code.to_string();
    let loader = move |_: &str, _: &str| Ok(WorkerSource::module(code.clone()));
    let engine = Engine::new(config(), Arc::new(loader)).expect("engine starts");
    let r = engine.execute_blocking("d1", "v1", Arc::new(env), WorkerRequest::get("http://x/"));
    engine.shutdown();
    r
}

/// Runs `body` (the inside of an async fetch handler with `DB` in scope) and parses its JSON.
fn eval(db: Arc<dyn D1Database>, body: &str) -> serde_json::Value {
    let code = format!(
        "export default {{ async fetch(req, env) {{ const DB = env.DB;
        const attempt = async (f) => {{ try {{ return {{ ok: await f() }}; }}
          catch (e) {{ return {{ name: e.name, message: e.message, cause: e.cause?.message }}; }} }};
        {body} }} }};"
    );
    let r = run(&code, Env::new().d1("DB", db));
    assert_eq!(r.error, None, "{}", r.text());
    serde_json::from_str(&r.text()).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

fn temp_db(name: &str) -> (std::path::PathBuf, SqliteD1) {
    let dir = std::env::temp_dir().join(format!("wk-d1-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("db.sqlite");
    let db = SqliteD1::open(&path).expect("opens");
    (dir, db)
}

#[test]
fn values_cross_with_their_sqlite_types() {
    let (dir, db) = temp_db("values");
    let v = eval(
        Arc::new(db),
        "await DB.exec('CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)');
         await DB.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)')
           .bind(9007199254740991, 2.5, 'héllo', new Uint8Array([0, 255]), null).run();
         await DB.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)').bind(true, 3, '', [7], false).run();
         const rows = await DB.prepare('SELECT i, r, s, b, n, typeof(i) ti, typeof(r) tr, typeof(b) tb FROM t').all();
         const big = await DB.prepare('SELECT 9223372036854775807 AS v').first('v');
         return Response.json({ rows: rows.results, big });",
    );
    assert_eq!(
        v["rows"],
        serde_json::json!([
            {"i": 9007199254740991u64, "r": 2.5, "s": "héllo", "b": [0, 255], "n": null, "ti": "integer", "tr": "real", "tb": "blob"},
            {"i": 1, "r": 3, "s": "", "b": [7], "n": 0, "ti": "integer", "tr": "real", "tb": "blob"}
        ])
    );
    // Integers beyond 2^53 arrive as (rounded) numbers, as on Cloudflare.
    assert_eq!(v["big"].as_f64(), Some(9223372036854775807.0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn meta_reports_changes_rows_and_size() {
    let (dir, db) = temp_db("meta");
    let v = eval(
        Arc::new(db),
        "await DB.exec('CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT)');
         const ins = await DB.prepare('INSERT INTO u (name) VALUES (?), (?)').bind('a', 'b').run();
         const sel = await DB.prepare('SELECT * FROM u').all();
         const upd = await DB.prepare('UPDATE u SET name = upper(name)').run();
         const none = await DB.prepare('DELETE FROM u WHERE id = 99').run();
         const pick = (m) => [m.changes, m.last_row_id, m.rows_read, m.rows_written, m.changed_db, m.size_after > 0, typeof m.duration];
         return Response.json([pick(ins.meta), pick(sel.meta), pick(upd.meta), pick(none.meta), sel.meta.served_by]);",
    );
    assert_eq!(
        v,
        serde_json::json!([
            [2, 2, 0, 2, true, true, "number"],
            [0, 2, 2, 0, false, true, "number"],
            [2, 2, 2, 2, true, true, "number"],
            // A rowid lookup that finds nothing reads nothing.
            [0, 2, 0, 0, false, true, "number"],
            "libworker.sqlite"
        ])
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn batch_is_one_transaction() {
    let (dir, db) = temp_db("batch");
    let v = eval(
        Arc::new(db),
        "await DB.exec('CREATE TABLE k (v TEXT UNIQUE)');
         const ins = DB.prepare('INSERT INTO k VALUES (?)');
         const ok = await DB.batch([ins.bind('a'), ins.bind('b'), DB.prepare('SELECT count(*) n FROM k')]);
         const failed = await attempt(() => DB.batch([ins.bind('c'), ins.bind('a'), ins.bind('d')]));
         const rows = await DB.prepare('SELECT v FROM k ORDER BY v').raw();
         return Response.json({ counts: ok.map((r) => r.meta.changes), last: ok[2].results, failed, rows });",
    );
    assert_eq!(v["counts"], serde_json::json!([1, 1, 0]));
    assert_eq!(v["last"], serde_json::json!([{"n": 2}]));
    assert_eq!(
        v["failed"]["message"],
        "D1_ERROR: UNIQUE constraint failed: k.v: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)"
    );
    assert_eq!(
        v["failed"]["cause"],
        "UNIQUE constraint failed: k.v: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)"
    );
    // 'c' was rolled back with the rest of the batch.
    assert_eq!(v["rows"], serde_json::json!([["a"], ["b"]]));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn exec_runs_lines_and_names_the_failing_one() {
    let (dir, db) = temp_db("exec");
    let v = eval(
        Arc::new(db),
        "const ok = await DB.exec('CREATE TABLE e (x);\\n\\n  \\nINSERT INTO e VALUES (1); INSERT INTO e VALUES (2);\\n');
         const failed = await attempt(() => DB.exec('INSERT INTO e VALUES (3);\\nINSERT INTO nope VALUES (1);\\nINSERT INTO e VALUES (4);'));
         const tx = await attempt(() => DB.exec('BEGIN TRANSACTION;'));
         const multi = await DB.prepare('SELECT 1 AS one; SELECT ? AS two').bind(2).all();
         const early = await attempt(() => DB.prepare('INSERT INTO e VALUES (?); SELECT 1').bind(9).run());
         const rows = (await DB.prepare('SELECT x FROM e').raw()).flat();
         return Response.json({ count: ok.count, failed, tx: tx.message.slice(0, 84), rows,
           multi: multi.results, early: early.message });",
    );
    assert_eq!(v["count"], 2);
    assert_eq!(
        v["failed"]["message"],
        "D1_EXEC_ERROR: Error in line 2: INSERT INTO nope VALUES (1);: no such table: nope: SQLITE_ERROR"
    );
    // Lines before the failure stay, lines after it never ran.
    assert_eq!(v["rows"], serde_json::json!([1, 2, 3]));
    assert_eq!(
        v["tx"],
        "D1_EXEC_ERROR: Error in line 1: BEGIN TRANSACTION;: To execute a transaction, please"
    );
    // Several statements in one: the last one's rows, and only the last may take parameters
    // (the failed one's INSERT of 9 was rolled back with its call).
    assert_eq!(v["multi"], serde_json::json!([{"two": 2}]));
    assert_eq!(
        v["early"],
        "D1_ERROR: When executing multiple SQL statements in a single call, only the last statement can have parameters."
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn errors_and_limits() {
    let (dir, db) = temp_db("errors");
    let v = eval(
        Arc::new(db),
        "const q = (sql, ...args) => attempt(() => DB.prepare(sql).bind(...args).all());
         return Response.json([
           (await q('SELECT ? AS a, ? AS b', 1)).message,
           (await q('SELECT ? AS a', 1, 2)).message,
           (await q('SELEC 1')).message,
           (await q('SELECT ' + Array(101).fill('?').join(','), ...Array(101).fill(1))).message,
           (await attempt(() => DB.prepare('SELECT 1').bind(undefined))).message,
           (await attempt(() => DB.prepare('SELECT 1 AS a').first('b'))).message,
           (await attempt(() => DB.batch([]))).message,
           (await q('   ')).message,
         ]);",
    );
    assert_eq!(
        v,
        serde_json::json!([
            "D1_ERROR: Wrong number of parameter bindings for SQL query.",
            "D1_ERROR: Wrong number of parameter bindings for SQL query.",
            "D1_ERROR: near \"SELEC\": syntax error at offset 0: SQLITE_ERROR",
            "D1_ERROR: too many SQL variables at offset 207: SQLITE_ERROR",
            "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'",
            "D1_COLUMN_NOTFOUND: Column not found (b)",
            "D1_ERROR: No SQL statements detected.",
            "D1_ERROR: No SQL statements detected.",
        ])
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sessions_carry_bookmarks_and_dump_returns_the_file() {
    let (dir, db) = temp_db("sessions");
    let v = eval(
        Arc::new(db),
        "const s = DB.withSession('first-primary');
         const before = s.getBookmark();
         await s.prepare('CREATE TABLE s (x)').run();
         const b1 = s.getBookmark();
         await s.batch([s.prepare('INSERT INTO s VALUES (1)')]);
         const b2 = s.getBookmark();
         const again = DB.withSession(b2);
         const dump = new Uint8Array(await DB.dump());
         return Response.json({ before, newer: b1 < b2, carried: again.getBookmark() === b2,
           primary: DB.withSession().getBookmark(),
           header: String.fromCharCode(...dump.slice(0, 15)), size: dump.length });",
    );
    assert_eq!(v["before"], serde_json::Value::Null);
    assert_eq!(v["newer"], true);
    assert_eq!(v["carried"], true);
    assert_eq!(v["primary"], serde_json::Value::Null);
    assert_eq!(v["header"], "SQLite format 3");
    assert!(v["size"].as_u64().unwrap() >= 1024);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dump_can_fail_as_on_cloudflare_and_data_survives_reopening() {
    let (dir, db) = temp_db("reopen");
    let v = eval(
        Arc::new(db.with_dump(false)),
        "await DB.exec('CREATE TABLE p (x)');
         await DB.prepare('INSERT INTO p VALUES (?)').bind('kept').run();
         return Response.json(await attempt(() => DB.dump()));",
    );
    assert_eq!(
        v,
        serde_json::json!({"name": "Error", "message": "D1_DUMP_ERROR: Status + 404", "cause": "Status 404"})
    );
    let db = SqliteD1::open(dir.join("db.sqlite")).expect("reopens");
    let v = eval(
        Arc::new(db),
        "return Response.json(await DB.prepare('SELECT x FROM p').first('x'));",
    );
    assert_eq!(v, "kept");
    let _ = std::fs::remove_dir_all(dir);
}

/// A database that answers from another thread after the call returned, recording what it got.
#[derive(Default)]
struct ThreadDb {
    seen: Arc<Mutex<Vec<D1Query>>>,
    fail: Option<D1Error>,
}

#[async_trait]
impl D1Database for ThreadDb {
    async fn query(&self, query: D1Query) -> Result<D1Response, D1Error> {
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let seen = self.seen.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            let n = query.statements.len();
            seen.lock().unwrap().push(query);
            let result = D1StatementResult {
                columns: vec!["a".into(), "b".into()],
                rows: vec![
                    D1Value::Integer(1),
                    D1Value::Blob(vec![9]),
                    D1Value::Text("x".into()),
                    D1Value::Null,
                ],
                meta: D1Meta {
                    changes: 3,
                    ..Default::default()
                },
            };
            let _ = tx.send(D1Response {
                results: vec![result; n],
                bookmark: Some("b-1".into()),
            });
        });
        rx.await.map_err(|_| D1Error::new("answer lost"))
    }
}

#[test]
fn a_host_database_gets_typed_params_and_answers_later() {
    let db = Arc::new(ThreadDb::default());
    let seen = db.seen.clone();
    let v = eval(
        db,
        "const s = DB.withSession();
         const all = await s.prepare('SELECT ?').bind(1, 1.5, 'x', null, true, [1, 2]).all();
         return Response.json({ all, bookmark: s.getBookmark(), ex: await DB.exec('A\\nB') });",
    );
    assert_eq!(
        v["all"]["results"],
        serde_json::json!([{"a": 1, "b": [9]}, {"a": "x", "b": null}])
    );
    assert_eq!(v["all"]["meta"]["changes"], 3);
    assert_eq!(v["bookmark"], "b-1");
    assert_eq!(v["ex"]["count"], 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].mode, D1Mode::Query);
    assert_eq!(seen[0].session, "first-unconstrained");
    assert_eq!(
        seen[0].statements[0].params,
        vec![
            D1Value::Integer(1),
            D1Value::Real(1.5),
            D1Value::Text("x".into()),
            D1Value::Null,
            D1Value::Integer(1),
            D1Value::Blob(vec![1, 2]),
        ]
    );
    assert_eq!(seen[1].mode, D1Mode::Exec);
    assert_eq!(seen[1].session, "first-primary");
    let sqls: Vec<_> = seen[1].statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(sqls, ["A", "B"]);
}

#[test]
fn a_failing_host_rejects_with_d1_error_and_its_message() {
    let db = ThreadDb {
        fail: Some(D1Error::new("database offline")),
        ..Default::default()
    };
    let v = eval(
        Arc::new(db),
        "return Response.json([await attempt(() => DB.prepare('SELECT 1').all()),
           await attempt(() => DB.exec('SELECT 1'))]);",
    );
    let expect = serde_json::json!({"name": "Error", "message": "D1_ERROR: database offline", "cause": "database offline"});
    assert_eq!(v, serde_json::json!([expect, expect]));

    let db = ThreadDb {
        fail: Some(D1Error::at(1, "boom")),
        ..Default::default()
    };
    let v = eval(
        Arc::new(db),
        "return Response.json([(await attempt(() => DB.batch([DB.prepare('A'), DB.prepare('B')]))).message,
           (await attempt(() => DB.exec('A\\nB'))).message]);",
    );
    assert_eq!(
        v,
        serde_json::json!(["D1_ERROR: boom", "D1_EXEC_ERROR: Error in line 2: B: boom"])
    );
}
