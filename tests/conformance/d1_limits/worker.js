// D1 limits at their boundaries: 100 bound parameters per query, 100,000-byte SQL statements,
// 100 columns per table. One past each limit fails with D1_ERROR / D1_EXEC_ERROR and the SQLite
// message ("too many SQL variables", "statement too long", "too many columns").
async function attempt(fn, expected) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    const prefix = e.message.slice(0, e.message.indexOf(": ") + 2);
    return { name: e.name, prefix, mentions: e.message.includes(expected) };
  }
}

const inList = (n) => "SELECT count(*) AS c FROM (SELECT 1 AS v) WHERE v IN (" + Array(n).fill("?").join(",") + ")";
const statementOfLength = (len) => "SELECT '" + "x".repeat(len - 14) + "' AS s"; // 14 bytes around the literal
const columns = (n) => Array.from({ length: n }, (_, i) => `c${i}`).join(", ");

export default {
  async fetch(request, env) {
    const DB = env.DB;
    return Response.json({
      params100: await attempt(() => DB.prepare(inList(100)).bind(...Array(100).fill(1)).first("c"), ""),
      params101: await attempt(() => DB.prepare(inList(101)).bind(...Array(101).fill(1)).first("c"), "too many SQL variables"),
      statement100000: await attempt(() => DB.prepare(statementOfLength(100000)).first().then((r) => r.s.length), ""),
      statement100001: await attempt(() => DB.prepare(statementOfLength(100001)).first().then((r) => r.s.length), "statement too long"),
      columns100: await attempt(() => DB.exec(`CREATE TABLE wide100 (${columns(100)})`).then((r) => r.count), ""),
      columns101: await attempt(() => DB.exec(`CREATE TABLE wide101 (${columns(101)})`), "too many columns on wide101"),
    });
  },
};
