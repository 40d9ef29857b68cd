// The statement methods and their results: first(), first(column), all(), run(), raw(),
// raw({columnNames: true}), and the D1Result meta object (deterministic fields exactly, timing
// and size fields by type). The table created by the first request persists for the later ones.
async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

// meta: the fields every D1Result carries; values that vary are reported by type.
function meta(m) {
  return {
    keys: Object.keys(m).filter((k) => ["duration", "size_after", "rows_read", "rows_written", "last_row_id", "changed_db", "changes"].includes(k)).sort(),
    changes: m.changes,
    last_row_id: m.last_row_id,
    changed_db: m.changed_db,
    rows_read: m.rows_read,
    rows_written: m.rows_written,
    duration: typeof m.duration,
    size_after: typeof m.size_after,
  };
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const DB = env.DB;
    if (pathname === "/create") {
      const r = await DB.prepare("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL)").run();
      // Row counters of DDL depend on SQLite's schema bookkeeping: checked by type only.
      const m = meta(r.meta);
      m.rows_read = typeof m.rows_read;
      m.rows_written = typeof m.rows_written;
      return Response.json({ success: r.success, results: r.results, meta: m });
    }
    if (pathname === "/insert") {
      const ins = DB.prepare("INSERT INTO users (name, age, score) VALUES (?, ?, ?)");
      const a = await ins.bind("alice", 30, 9.5).run();
      const b = await ins.bind("bob", 25, null).run();
      const c = await ins.bind("carol", 35, 7.25).all();
      return Response.json({
        run: { success: a.success, results: a.results, meta: meta(a.meta) },
        second: { last_row_id: b.meta.last_row_id, changes: b.meta.changes },
        allOnInsert: { results: c.results, last_row_id: c.meta.last_row_id, changes: c.meta.changes },
      });
    }
    if (pathname === "/select") {
      const all = await DB.prepare("SELECT id, name, age, score FROM users ORDER BY id").all();
      const run = await DB.prepare("SELECT name FROM users WHERE age > ? ORDER BY id").bind(26).run();
      const none = await DB.prepare("SELECT * FROM users WHERE id = ?").bind(999).all();
      return Response.json({
        all: { success: all.success, results: all.results, meta: meta(all.meta) },
        runReturnsRows: run.results,
        empty: { results: none.results, changes: none.meta.changes },
      });
    }
    if (pathname === "/first") {
      return Response.json({
        row: await DB.prepare("SELECT * FROM users ORDER BY id").first(),
        column: await DB.prepare("SELECT name, age FROM users WHERE id = ?").bind(2).first("name"),
        nullColumn: await DB.prepare("SELECT score FROM users WHERE id = ?").bind(2).first("score"),
        noRows: await DB.prepare("SELECT * FROM users WHERE id = ?").bind(999).first(),
        noRowsColumn: await DB.prepare("SELECT name FROM users WHERE id = ?").bind(999).first("name"),
        missingColumn: await attempt(() => DB.prepare("SELECT name FROM users ORDER BY id").first("nope")),
        aliased: await DB.prepare("SELECT count(*) AS n, max(age) AS oldest FROM users").first(),
      });
    }
    if (pathname === "/raw") {
      return Response.json({
        raw: await DB.prepare("SELECT id, name FROM users ORDER BY id").raw(),
        columnNames: await DB.prepare("SELECT id, name FROM users ORDER BY id").raw({ columnNames: true }),
        columnNamesFalse: await DB.prepare("SELECT id FROM users ORDER BY id LIMIT 1").raw({ columnNames: false }),
        emptyWithNames: await DB.prepare("SELECT id, name FROM users WHERE id = 999").raw({ columnNames: true }),
        empty: await DB.prepare("SELECT id, name FROM users WHERE id = 999").raw(),
        duplicateNames: await DB.prepare("SELECT 1 AS x, 2 AS x").raw({ columnNames: true }),
        duplicateNamesAll: (await DB.prepare("SELECT 1 AS x, 2 AS x").all()).results,
      });
    }
    if (pathname === "/update-delete") {
      const upd = await DB.prepare("UPDATE users SET score = coalesce(score, 0) + 1").run();
      const del = await DB.prepare("DELETE FROM users WHERE name = ?").bind("bob").run();
      const noop = await DB.prepare("DELETE FROM users WHERE name = ?").bind("nobody").run();
      return Response.json({
        update: { changes: upd.meta.changes, changed_db: upd.meta.changed_db, rows_written: upd.meta.rows_written },
        delete: { changes: del.meta.changes, changed_db: del.meta.changed_db },
        noopDelete: { changes: noop.meta.changes, changed_db: noop.meta.changed_db, rows_written: noop.meta.rows_written },
        remaining: (await DB.prepare("SELECT name, score FROM users ORDER BY id").all()).results,
      });
    }
    if (pathname === "/returning") {
      const r = await DB.prepare("INSERT INTO users (name, age) VALUES (?, ?) RETURNING id, name").bind("dave", 40).all();
      return Response.json({ results: r.results, changes: r.meta.changes, last_row_id: r.meta.last_row_id });
    }
    return new Response("not found", { status: 404 });
  },
};
