// exec(): several newline-separated statements, {count, duration}, and D1_EXEC_ERROR.
// batch(): one result per statement, all in one transaction, so a failing statement rolls back
// the ones before it and the error is thrown.
// Errors from SQLite itself carry the backend's wording after the prefix (Miniflare appends
// ": SQLITE_ERROR", production words syntax errors differently), so they are checked by prefix,
// by the SQLite message they contain, and by `cause` holding the message without the prefix.
async function attempt(fn, expected) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    const prefix = e.message.slice(0, e.message.indexOf(": ") + 2);
    return {
      name: e.name,
      prefix,
      mentions: [].concat(expected).every((x) => e.message.includes(x)),
      causeIsRest: e.cause instanceof Error && e.cause.message === e.message.slice(prefix.length),
    };
  }
}

const items = (DB) => DB.prepare("SELECT id, label FROM items ORDER BY id").raw();

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const DB = env.DB;
    if (pathname === "/exec") {
      const r = await DB.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT UNIQUE NOT NULL);\n" +
          "INSERT INTO items (label) VALUES ('one');\n" +
          "INSERT INTO items (label) VALUES ('two');",
      );
      const single = await DB.exec("INSERT INTO items (label) VALUES ('three')");
      return Response.json({
        keys: Object.keys(r).sort(),
        count: r.count,
        durationType: typeof r.duration,
        singleCount: single.count,
        rows: await items(DB),
      });
    }
    if (pathname === "/exec-errors") {
      return Response.json({
        syntax: await attempt(() => DB.exec("SELEKT 1"), ["Error in line 1: SELEKT 1: ", 'near "SELEKT": syntax error']),
        missingTable: await attempt(() => DB.exec("INSERT INTO nope VALUES (1);"), ["Error in line 1: ", "no such table: nope"]),
        empty: await attempt(() => DB.exec(""), "No SQL statements detected."),
      });
    }
    if (pathname === "/batch") {
      const ins = DB.prepare("INSERT INTO items (label) VALUES (?)");
      const res = await DB.batch([
        ins.bind("five"),
        ins.bind("six"),
        DB.prepare("UPDATE items SET label = upper(label) WHERE label = ?").bind("one"),
        DB.prepare("SELECT count(*) AS n FROM items"),
      ]);
      return Response.json({
        length: res.length,
        success: res.map((r) => r.success),
        results: res.map((r) => r.results),
        changes: res.map((r) => r.meta.changes),
        last_row_id: res.slice(0, 2).map((r) => r.meta.last_row_id),
        rows: await items(DB),
      });
    }
    if (pathname === "/batch-rollback") {
      const before = await items(DB);
      const ins = DB.prepare("INSERT INTO items (label) VALUES (?)");
      const failed = await attempt(() =>
        DB.batch([
          ins.bind("seven"),
          DB.prepare("UPDATE items SET label = 'changed' WHERE id = 1"),
          ins.bind("two"), // UNIQUE violation
          ins.bind("eight"),
        ]),
        "UNIQUE constraint failed: items.label",
      );
      const syntax = await attempt(() => DB.batch([ins.bind("nine"), DB.prepare("INSERT INTO items VALUES (")]), "incomplete input");
      const after = await items(DB);
      return Response.json({ failed, syntax, unchanged: JSON.stringify(before) === JSON.stringify(after), rows: after });
    }
    if (pathname === "/batch-errors") {
      return Response.json({ empty: await attempt(() => DB.batch([]), "No SQL statements detected.") });
    }
    if (pathname === "/dump") {
      // dump() is deprecated and only works on alpha databases; elsewhere the backend answers
      // with a non-200 status and the binding throws "D1_DUMP_ERROR: Status + <status>".
      try {
        const buf = await DB.dump();
        return Response.json({ ok: true, isArrayBuffer: buf instanceof ArrayBuffer });
      } catch (e) {
        return Response.json({ name: e.name, message: e.message.replace(/\d+$/, "<status>"), cause: e.cause?.message.replace(/\d+$/, "<status>") });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
