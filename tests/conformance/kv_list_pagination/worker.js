// KV list() pagination across requests: each GET /next lists one page of "page:" keys and keeps
// the opaque cursor in KV itself (under a key outside the prefix) for the next request, the way
// a paginated API built on KV works. The prefix is passed again with every cursor.
const PREFIX = "page:";
const CURSOR_KEY = "state:cursor";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/seed") {
      for (let i = 7; i >= 1; i--) await env.KV.put(`${PREFIX}${String(i).padStart(2, "0")}`, `value ${i}`, { metadata: { i } });
      await env.KV.put("zzz-other", "not listed");
      return new Response("seeded");
    }
    if (url.pathname === "/next") {
      const cursor = await env.KV.get(CURSOR_KEY);
      const page = await env.KV.list({ prefix: PREFIX, limit: Number(url.searchParams.get("limit")), cursor });
      if (page.list_complete) await env.KV.delete(CURSOR_KEY);
      else await env.KV.put(CURSOR_KEY, page.cursor);
      return Response.json({
        startedFromCursor: cursor !== null,
        keys: page.keys,
        list_complete: page.list_complete,
        hasCursor: "cursor" in page,
      });
    }
    return new Response("no route", { status: 404 });
  },
};
