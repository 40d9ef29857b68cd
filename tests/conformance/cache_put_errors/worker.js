// Cache put() refuses some requests and responses with a TypeError: a non-GET request, a 206,
// any Vary: *, an error Response and a key that is not an absolute URL. A 304 is not an error but
// is not stored. Unsupported Cache and CacheStorage methods throw, as does a too-long cache name.
const ORIGIN = "https://errors.example";
const ok = { "cache-control": "max-age=600" };

async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : typeof value === "object" ? value.constructor.name : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request) {
    const cache = caches.default;
    const url = `${ORIGIN}/x`;
    const out = {
      post: await attempt(() => cache.put(new Request(url, { method: "POST", body: "b" }), new Response("x", { headers: ok }))),
      head: await attempt(() => cache.put(new Request(url, { method: "HEAD" }), new Response("x", { headers: ok }))),
      partialContent: await attempt(() => cache.put(url, new Response("x", { status: 206, headers: ok }))),
      varyStar: await attempt(() => cache.put(url, new Response("x", { headers: { ...ok, vary: "*" } }))),
      varyListWithStar: await attempt(() => cache.put(url, new Response("x", { headers: { ...ok, vary: "Accept, *" } }))),
      errorResponse: await attempt(() => cache.put(url, Response.error())),
      relativeUrl: await attempt(() => cache.put("/relative", new Response("x", { headers: ok }))),
      matchRelativeUrl: await attempt(() => cache.match("/relative")),
      notModified: await attempt(() => cache.put(`${ORIGIN}/304`, new Response(null, { status: 304, headers: ok }))),
    };
    out.nothingStored = {
      x: String(await cache.match(url)),
      notModified: String(await cache.match(`${ORIGIN}/304`)),
    };

    out.names = {
      longest: await attempt(() => caches.open("n".repeat(1023))),
      tooLong: await attempt(() => caches.open("n".repeat(1024))),
    };
    out.unsupported = {
      cachesMatch: await attempt(() => caches.match(url)),
      cachesHas: await attempt(() => caches.has("a")),
      cachesDelete: await attempt(() => caches.delete("a")),
      cachesKeys: await attempt(() => caches.keys()),
      add: await attempt(() => cache.add(url)),
      addAll: await attempt(() => cache.addAll([url])),
      keys: await attempt(() => cache.keys()),
      matchAll: await attempt(() => cache.matchAll()),
      ignoreSearch: await attempt(() => cache.match(url, { ignoreSearch: true })),
    };
    return Response.json(out);
  },
};
