// The usual edge-caching pattern, across requests: look the incoming request up in
// caches.default, and on a miss render the page and store a copy with ctx.waitUntil. A hit goes
// back to the client as stored, with CF-Cache-Status: HIT. Named caches keep separate entries.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/article/")) {
      const cache = caches.default;
      const hit = await cache.match(request);
      if (hit) return hit;
      const response = new Response(`article ${url.pathname.slice(9)}${url.search}`, {
        headers: { "cache-control": "max-age=600", "content-type": "text/plain; charset=utf-8", "x-rendered": request.method },
      });
      if (request.method === "GET") ctx.waitUntil(cache.put(request, response.clone()));
      return response;
    }
    if (url.pathname.startsWith("/purge/")) {
      const target = new URL(url.pathname.slice(6), url);
      return Response.json({ deleted: await caches.default.delete(target) });
    }
    if (url.pathname === "/named") {
      // ?put=<cache name> stores the entry in that cache; every call reports where it is.
      const key = "https://named.example/entry";
      const put = url.searchParams.get("put");
      if (put !== null) {
        const cache = put === "default" ? caches.default : await caches.open(put);
        await cache.put(key, new Response(`stored in ${put}`, { headers: { "cache-control": "max-age=600" } }));
      }
      const where = {};
      for (const name of ["default", "images", "api"]) {
        const cache = name === "default" ? caches.default : await caches.open(name);
        const hit = await cache.match(key);
        where[name] = hit ? await hit.text() : null;
      }
      return Response.json(where);
    }
    return new Response("no route", { status: 404 });
  },
};
