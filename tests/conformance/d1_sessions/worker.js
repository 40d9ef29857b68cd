// withSession(): a session has prepare(), batch() and getBookmark(). The bookmark is null until
// the session has run a query, then an opaque string; a new session started from a bookmark sees
// the writes made before it. Bookmark contents are backend-specific: checked by type only.
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const DB = env.DB;
    if (pathname === "/write") {
      const s = DB.withSession("first-primary");
      const before = s.getBookmark();
      await s.prepare("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)").run();
      const [ins] = await s.batch([s.prepare("INSERT INTO notes (text) VALUES (?)").bind("first note")]);
      const bookmark = s.getBookmark();
      // The bookmark is what a client would carry to its next request.
      await DB.prepare("CREATE TABLE bookmarks (b TEXT)").run();
      await DB.prepare("INSERT INTO bookmarks VALUES (?)").bind(bookmark).run();
      return Response.json({
        sessionMethods: ["prepare", "batch", "getBookmark"].map((m) => typeof s[m]),
        bookmarkBeforeQuery: before,
        bookmarkAfterQuery: typeof bookmark,
        batchChanges: ins.meta.changes,
      });
    }
    if (pathname === "/read") {
      const bookmark = await DB.prepare("SELECT b FROM bookmarks").first("b");
      const s = DB.withSession(bookmark);
      const row = await s.prepare("SELECT text FROM notes WHERE id = 1").first();
      const dflt = DB.withSession();
      const fresh = dflt.getBookmark();
      const count = await dflt.prepare("SELECT count(*) AS n FROM notes").first("n");
      const unconstrained = DB.withSession("first-unconstrained");
      const n2 = await unconstrained.prepare("SELECT count(*) AS n FROM notes").first("n");
      return Response.json({
        row,
        afterRead: typeof s.getBookmark(),
        defaultSessionBookmark: fresh,
        defaultSessionCount: count,
        unconstrainedCount: n2,
        unconstrainedBookmark: typeof unconstrained.getBookmark(),
      });
    }
    return new Response("not found", { status: 404 });
  },
};
