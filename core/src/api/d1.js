(function (ops, internals) {
  "use strict";

  // D1Database: the client half of Cloudflare's binding (workerd's d1-api.ts): bind validation,
  // result shapes, sessions and error prefixes here; the host's database runs the SQL.
  const FIRST_PRIMARY = "first-primary";
  const FIRST_UNCONSTRAINED = "first-unconstrained";
  const MODE_QUERY = 0;
  const MODE_EXEC = 1;

  const { hostCall } = internals;

  // Errors carry the message without the prefix as `cause`, as on Cloudflare.
  const prefixed = (prefix, message, cause = message) => new Error(`${prefix}: ${message}`, { cause: new Error(cause) });

  // A cell as D1 hands it to JavaScript: BLOBs (Uint8Array from the op) become byte arrays.
  const cell = (v) => (v !== null && typeof v === "object" ? Array.from(v) : v);

  function metaOf(m) {
    const meta = {};
    if (m[7] !== null) meta.served_by = m[7];
    if (m[8] !== null) meta.served_by_region = m[8];
    if (m[9] !== null) meta.served_by_primary = m[9];
    meta.timings = { sql_duration_ms: m[0] };
    meta.duration = m[0];
    meta.changes = m[1];
    meta.last_row_id = m[2];
    meta.changed_db = m[5];
    meta.size_after = m[6];
    meta.rows_read = m[3];
    meta.rows_written = m[4];
    return meta;
  }

  // [columns, cells, meta] -> {columns, rows} with rows as arrays of cells.
  function rowsOf(result) {
    const [columns, cells] = result;
    const n = columns.length;
    const rows = [];
    if (n === 0) return { columns, rows };
    for (let i = 0; i < cells.length; i += n) {
      const row = new Array(n);
      for (let j = 0; j < n; j++) row[j] = cell(cells[i + j]);
      rows.push(row);
    }
    return { columns, rows };
  }

  // The D1Result of `all()`, `run()` and each `batch()` entry. With repeated column names the
  // last one wins, as with Object.fromEntries on Cloudflare.
  function toResult(result) {
    const { columns, rows } = rowsOf(result);
    const results = rows.map((row) => {
      const obj = {};
      for (let j = 0; j < columns.length; j++) obj[columns[j]] = row[j];
      return obj;
    });
    return { success: true, meta: metaOf(result[2]), results };
  }

  // Flattens statements for the op: [sql, params, sql, params, ...].
  function flatten(statements) {
    const flat = [];
    for (const s of statements) flat.push(String(s.statement), s.params);
    return flat;
  }

  // Runs statements for a session; `record` keeps the bookmark the database answers with.
  async function send(session, statements, mode) {
    let answer;
    try {
      answer = await hostCall(ops.op_d1_query, session.binding, mode, session.constraint(), flatten(statements));
    } catch (e) {
      // The call failed as a whole (the host could not answer): a query error on Cloudflare too.
      const message = e?.message || "Something went wrong";
      throw prefixed("D1_ERROR", message);
    }
    const [bookmark, failure, results] = answer;
    if (bookmark !== null) session.record(bookmark);
    if (failure !== null) return { failure };
    return { results };
  }

  async function sendOrThrow(session, statements) {
    const { failure, results } = await send(session, statements, MODE_QUERY);
    if (failure) throw prefixed("D1_ERROR", failure[1]);
    return results;
  }

  function bindValue(r) {
    const rType = typeof r;
    if (rType === "number" || rType === "string") return r;
    if (rType === "boolean") return r ? 1 : 0;
    if (rType === "object") {
      if (r === null) return r;
      // Arrays of byte values are BLOBs; so are ArrayBuffers and views.
      if (Array.isArray(r) && r.every((b) => typeof b === "number" && b >= 0 && b < 256)) return Uint8Array.from(r);
      if (r instanceof ArrayBuffer) return new Uint8Array(r.slice(0));
      if (r instanceof DataView) return new Uint8Array(r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength));
      if (ArrayBuffer.isView(r)) return Uint8Array.from(r);
    }
    // Template literals convert the value the way Cloudflare's message does (a Symbol throws
    // its own TypeError here, as it does there).
    throw prefixed("D1_TYPE_ERROR", `Type '${rType}' not supported for value '${r}'`);
  }

  class D1PreparedStatement {
    #session;

    constructor(token, session, statement, params) {
      if (token !== internals.illegalConstructor) throw new TypeError("Illegal constructor");
      this.#session = session;
      Object.defineProperty(this, "statement", { value: statement, enumerable: true });
      Object.defineProperty(this, "params", { value: params, enumerable: true });
    }

    bind(...values) {
      if (!(#session in this)) throw internals.illegalInvocation();
      const params = values.map(bindValue);
      return new D1PreparedStatement(internals.illegalConstructor, this.#session, this.statement, params);
    }

    async first(colName) {
      if (!(#session in this)) throw internals.illegalInvocation();
      const [result] = await sendOrThrow(this.#session, [this]);
      const { columns, rows } = rowsOf(result);
      if (rows.length === 0) return null;
      const row = {};
      for (let j = 0; j < columns.length; j++) row[columns[j]] = rows[0][j];
      if (colName !== undefined) {
        if (row[colName] === undefined) {
          throw prefixed("D1_COLUMN_NOTFOUND", `Column not found (${colName})`, "Column not found");
        }
        return row[colName];
      }
      return row;
    }

    async run() {
      if (!(#session in this)) throw internals.illegalInvocation();
      const [result] = await sendOrThrow(this.#session, [this]);
      return toResult(result);
    }

    async all() {
      if (!(#session in this)) throw internals.illegalInvocation();
      const [result] = await sendOrThrow(this.#session, [this]);
      return toResult(result);
    }

    async raw(options) {
      if (!(#session in this)) throw internals.illegalInvocation();
      const [result] = await sendOrThrow(this.#session, [this]);
      const { columns, rows } = rowsOf(result);
      return options?.columnNames ? [columns, ...rows] : rows;
    }
  }
  internals.setToStringTag(D1PreparedStatement, "D1PreparedStatement");

  async function batch(session, statements) {
    statements = Array.from(statements);
    if (statements.length === 0) throw prefixed("D1_ERROR", "No SQL statements detected.");
    const results = await sendOrThrow(session, statements);
    return results.map(toResult);
  }

  // Session state shared by D1Database (always the primary, never a bookmark) and
  // D1DatabaseSession.
  class Session {
    constructor(binding, bookmarkOrConstraint, alwaysPrimary) {
      this.binding = binding;
      this.value = bookmarkOrConstraint;
      this.alwaysPrimary = alwaysPrimary;
    }
    constraint() {
      return this.value;
    }
    bookmark() {
      if (this.alwaysPrimary || this.value === FIRST_PRIMARY || this.value === FIRST_UNCONSTRAINED) return null;
      return this.value;
    }
    // Keep the newest bookmark seen: answers to concurrent queries may arrive out of order.
    record(bookmark) {
      if (this.alwaysPrimary) return;
      bookmark = String(bookmark).trim();
      if (!bookmark) return;
      const current = this.bookmark();
      if (current === null || current.localeCompare(bookmark) < 0) this.value = bookmark;
    }
  }

  class D1DatabaseSession {
    #session;

    constructor(token, binding, bookmarkOrConstraint) {
      if (token !== internals.illegalConstructor) throw new TypeError("Illegal constructor");
      if (!bookmarkOrConstraint) throw new Error("D1_SESSION_ERROR: invalid bookmark or constraint");
      this.#session = new Session(binding, bookmarkOrConstraint, false);
    }

    prepare(query) {
      if (!(#session in this)) throw internals.illegalInvocation();
      return new D1PreparedStatement(internals.illegalConstructor, this.#session, query, []);
    }

    async batch(statements) {
      if (!(#session in this)) throw internals.illegalInvocation();
      return batch(this.#session, statements);
    }

    getBookmark() {
      if (!(#session in this)) throw internals.illegalInvocation();
      return this.#session.bookmark();
    }
  }
  internals.setToStringTag(D1DatabaseSession, "D1DatabaseSession");

  class D1Database {
    #binding;
    #primary;

    constructor(token, binding) {
      if (token !== internals.illegalConstructor) throw new TypeError("Illegal constructor");
      this.#binding = binding;
      this.#primary = new Session(binding, FIRST_PRIMARY, true);
    }

    prepare(query) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      return new D1PreparedStatement(internals.illegalConstructor, this.#primary, query, []);
    }

    async batch(statements) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      return batch(this.#primary, statements);
    }

    // One statement per line, no parameters; the lines run in order and the first failure
    // stops the run. Blank lines are skipped (as workerd does), but input with no statement at
    // all reaches the database, which reports "No SQL statements detected." for line 1.
    async exec(query) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      let lines = query.trim().split("\n").filter((line) => line.trim() !== "");
      if (lines.length === 0) lines = [""];
      const statements = lines.map((statement) => ({ statement, params: [] }));
      const { failure, results } = await send(this.#primary, statements, MODE_EXEC);
      if (failure) {
        const [index, message] = failure;
        throw prefixed("D1_EXEC_ERROR", `Error in line ${index + 1}: ${lines[index]}: ${message}`);
      }
      return { count: results.length, duration: results.reduce((sum, r) => sum + r[2][0], 0) };
    }

    withSession(constraintOrBookmark) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      constraintOrBookmark = constraintOrBookmark?.trim();
      if (constraintOrBookmark == null || constraintOrBookmark === "") constraintOrBookmark = FIRST_UNCONSTRAINED;
      return new D1DatabaseSession(internals.illegalConstructor, this.#binding, constraintOrBookmark);
    }

    // Deprecated on Cloudflare, where only alpha databases support it.
    async dump() {
      if (!(#binding in this)) throw internals.illegalInvocation();
      let answer;
      try {
        answer = await hostCall(ops.op_d1_dump, this.#binding);
      } catch {
        answer = 500;
      }
      if (typeof answer === "number") {
        throw prefixed("D1_DUMP_ERROR", `Status + ${answer}`, `Status ${answer}`);
      }
      // The op hands over a fresh Uint8Array that owns its whole buffer.
      return answer.buffer;
    }
  }
  internals.setToStringTag(D1Database, "D1Database");

  internals.envKinds.d1 = (index) => new D1Database(internals.illegalConstructor, Number(index));
})
