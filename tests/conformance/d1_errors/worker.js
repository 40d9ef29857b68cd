// Query errors: every method rejects with an Error whose message is "D1_ERROR: <SQLite message>"
// and whose `cause` is an Error holding the message without the prefix. The SQLite wording after
// the prefix is the backend's, so each error is checked for the prefix and for the SQLite
// message it must contain. prepare() itself never throws: errors surface when a statement runs.
async function attempt(fn, expected) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    const prefix = e.message.slice(0, e.message.indexOf(": ") + 2);
    return {
      name: e.name,
      isError: e instanceof Error,
      prefix,
      mentions: [].concat(expected).every((x) => e.message.includes(x)),
      causeIsRest: e.cause instanceof Error && e.cause.message === e.message.slice(prefix.length),
    };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const DB = env.DB;
    if (pathname === "/setup") {
      await DB.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, age INTEGER CHECK (age >= 0));\n" +
          "INSERT INTO parent (id, email, age) VALUES (1, 'a@example.com', 30);",
      );
      return Response.json({ rows: await DB.prepare("SELECT * FROM parent").all().then((r) => r.results) });
    }
    if (pathname === "/lazy-prepare") {
      // Preparing invalid SQL does not throw; executing it does.
      let prepared;
      try {
        prepared = DB.prepare("THIS IS NOT SQL");
      } catch (e) {
        return Response.json({ prepareThrew: e.message });
      }
      return Response.json({
        prepareThrew: false,
        statementType: typeof prepared,
        methods: ["bind", "first", "all", "run", "raw"].map((m) => typeof prepared[m]),
        all: await attempt(() => prepared.all(), "syntax error"),
        first: await attempt(() => prepared.first(), "syntax error"),
        run: await attempt(() => prepared.run(), "syntax error"),
        raw: await attempt(() => prepared.raw(), "syntax error"),
      });
    }
    if (pathname === "/sql-errors") {
      return Response.json({
        noSuchTable: await attempt(() => DB.prepare("SELECT * FROM missing_table").all(), "no such table: missing_table"),
        noSuchColumn: await attempt(() => DB.prepare("SELECT nope FROM parent").all(), "no such column: nope"),
        syntax: await attempt(() => DB.prepare("SELEC * FROM parent").all(), 'near "SELEC": syntax error'),
        incomplete: await attempt(() => DB.prepare("SELECT * FROM").all(), "incomplete input"),
        tooFewParams: await attempt(() => DB.prepare("SELECT ? AS a, ? AS b").bind(1).all(), []),
        tooManyParams: await attempt(() => DB.prepare("SELECT ? AS a").bind(1, 2).all(), []),
        tableExists: await attempt(() => DB.prepare("CREATE TABLE parent (x)").run(), "table parent already exists"),
      });
    }
    if (pathname === "/constraints") {
      const ins = DB.prepare("INSERT INTO parent (id, email, age) VALUES (?, ?, ?)");
      return Response.json({
        unique: await attempt(() => ins.bind(2, "a@example.com", 1).run(), ["UNIQUE constraint failed: parent.email", "SQLITE_CONSTRAINT"]),
        primaryKey: await attempt(() => ins.bind(1, "b@example.com", 1).run(), ["UNIQUE constraint failed: parent.id", "SQLITE_CONSTRAINT"]),
        notNull: await attempt(() => ins.bind(3, null, 1).run(), ["NOT NULL constraint failed: parent.email", "SQLITE_CONSTRAINT"]),
        check: await attempt(() => ins.bind(4, "c@example.com", -1).run(), ["CHECK constraint failed", "SQLITE_CONSTRAINT"]),
        rowsAfter: (await DB.prepare("SELECT id FROM parent ORDER BY id").raw()).flat(),
      });
    }
    return new Response("not found", { status: 404 });
  },
};
