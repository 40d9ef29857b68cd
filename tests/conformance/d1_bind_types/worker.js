// bind(): which JavaScript values D1 accepts and how each comes back (SQLite storage class and
// JS type), plus ?NNN placeholders and the D1_TYPE_ERROR for values it cannot bind.
async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const DB = env.DB;
    if (pathname === "/values") {
      const cases = {
        null: null,
        int: 42,
        negativeInt: -7,
        float: 3.25,
        bigishInt: 9007199254740991,
        string: "héllo ✓",
        emptyString: "",
        true: true,
        false: false,
        arrayBuffer: new Uint8Array([1, 2, 255]).buffer,
        uint8Array: new Uint8Array([0, 10, 200]),
        numberArray: [4, 5, 6],
      };
      const out = {};
      for (const [name, v] of Object.entries(cases)) {
        const row = await DB.prepare("SELECT ? AS v").bind(v).first();
        out[name] = { value: row.v, jsType: Array.isArray(row.v) ? "array" : row.v === null ? "null" : typeof row.v };
      }
      return Response.json(out);
    }
    if (pathname === "/sql-types") {
      // The SQLite storage class each value is bound as (documented conversion table: integral
      // numbers and booleans -> INTEGER, other numbers -> REAL).
      const cases = { null: null, int: 42, negativeInt: -7, zero: 0, float: 3.25, string: "s", true: true, false: false, blob: new Uint8Array([1]) };
      const out = {};
      for (const [name, v] of Object.entries(cases)) out[name] = await DB.prepare("SELECT typeof(?) AS t").bind(v).first("t");
      return Response.json(out);
    }
    if (pathname === "/roundtrip") {
      await DB.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, n)");
      await DB.prepare("INSERT INTO t (i, r, s, b, n) VALUES (?, ?, ?, ?, ?)").bind(1, 1.5, "text", new Uint8Array([104, 105]), null).run();
      await DB.prepare("INSERT INTO t (i, r, s, b, n) VALUES (?, ?, ?, ?, ?)").bind(true, 2, "2", new Uint8Array([]).buffer, 0).run();
      const rows = await DB.prepare("SELECT i, r, s, b, n, typeof(i) ti, typeof(r) tr, typeof(b) tb FROM t ORDER BY id").all();
      return Response.json(rows.results);
    }
    if (pathname === "/placeholders") {
      const numbered = await DB.prepare("SELECT ?2 AS second, ?1 AS first, ?2 AS again").bind("a", "b").first();
      // bind() returns a new statement; the original stays unbound and reusable.
      const base = DB.prepare("SELECT ? AS v");
      const one = base.bind(1);
      const two = base.bind(2);
      return Response.json({
        numbered,
        immutable: { one: (await one.first("v")), two: (await two.first("v")), distinct: one !== two && one !== base },
      });
    }
    if (pathname === "/bad-types") {
      const bind = (v) => attempt(() => DB.prepare("SELECT ? AS v").bind(v).first());
      return Response.json({
        undefined: await bind(undefined),
        object: await bind({ a: 1 }),
        date: await bind(new Date(0)),
        bigint: await bind(10n),
        symbol: await bind(Symbol("s")),
        function: await bind(() => 1),
      });
    }
    return new Response("not found", { status: 404 });
  },
};
