// Cache API details beyond the main cases: argument errors, the objects themselves, what a hit
// looks like (immutable headers, an unread body), and the lifetime of a response without
// Cache-Control (Cloudflare's default edge TTL by status).
const ORIGIN = "https://edge.example";
const maxAge = { "cache-control": "max-age=600" };

async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : typeof value === "object" && value !== null ? value.constructor.name : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const cache = caches.default;
    if (pathname === "/default-ttl") {
      // No Cache-Control and no Expires: Cloudflare's default edge TTL by status applies
      // (200 and 301: 2 h, 404: 3 min); a 201 is not cached by default.
      await cache.put(`${ORIGIN}/plain200`, new Response("plain"));
      await cache.put(`${ORIGIN}/public200`, new Response("public", { headers: { "cache-control": "public" } }));
      await cache.put(`${ORIGIN}/plain404`, new Response("gone", { status: 404 }));
      await cache.put(`${ORIGIN}/plain201`, new Response("created", { status: 201 }));
      const out = {};
      for (const k of ["plain200", "public200", "plain404", "plain201"]) {
        const hit = await cache.match(`${ORIGIN}/${k}`);
        out[k] = hit ? hit.status : null;
      }
      return Response.json(out);
    }

    const used = new Response("used");
    await used.text();
    const out = {
      sameDefault: caches.default === caches.default,
      tags: [Object.prototype.toString.call(caches), Object.prototype.toString.call(cache)],
      newCache: await attempt(() => new Cache()),
      newCacheStorage: await attempt(() => new CacheStorage()),
      openEmptyName: await attempt(() => caches.open("")),
      putBodyUsed: await attempt(() => cache.put(`${ORIGIN}/used`, used)),
      putNotResponse: await attempt(() => cache.put(`${ORIGIN}/x`, "text")),
      putNoResponse: await attempt(() => cache.put(`${ORIGIN}/x`)),
      matchNoKey: await attempt(() => cache.match()),
      ignoreSearchFalse: await attempt(() => cache.match(`${ORIGIN}/x`, { ignoreSearch: false })),
      ignoreVary: await attempt(() => cache.match(`${ORIGIN}/x`, { ignoreVary: true })),
      deleteIgnoreSearch: await attempt(() => cache.delete(`${ORIGIN}/x`, { ignoreSearch: true })),
    };

    await cache.put(`${ORIGIN}/doc`, new Response("abc", { headers: maxAge }));
    const hit = await cache.match(`${ORIGIN}/doc`);
    out.hitBodyUsed = hit.bodyUsed;
    out.hitHeadersImmutable = await attempt(() => hit.headers.set("x-extra", "1"));
    out.hitText = await hit.text();
    return Response.json(out);
  },
};
