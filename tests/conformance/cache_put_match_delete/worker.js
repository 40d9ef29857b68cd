// caches.default: put() then match() returns the stored response marked CF-Cache-Status: HIT;
// a miss is undefined; delete() reports whether an entry existed. Keys are full URLs (query and
// host included) given as a string, a URL or a Request; the request's own headers do not matter.
const ORIGIN = "https://shop.example";

async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

async function describe(res) {
  if (res === undefined) return "undefined";
  const pick = ["cf-cache-status", "content-type", "x-custom", "etag", "cache-control"];
  return {
    status: res.status,
    headers: Object.fromEntries(pick.map((h) => [h, res.headers.get(h)])),
    body: await res.text(),
  };
}

export default {
  async fetch(request) {
    const cache = caches.default;
    const out = {};
    out.putResult = await attempt(() =>
      cache.put(
        `${ORIGIN}/item`,
        new Response("item body ✓", {
          headers: { "cache-control": "max-age=600", "content-type": "text/plain; charset=utf-8", "x-custom": "kept", etag: '"v1"' },
        }),
      ),
    );
    out.matchString = await describe(await cache.match(`${ORIGIN}/item`));
    out.matchUrl = (await cache.match(new URL(`${ORIGIN}/item`)))?.status;
    out.matchRequest = (await cache.match(new Request(`${ORIGIN}/item`, { headers: { "x-anything": "1" } })))?.status;
    out.miss = String(await cache.match(`${ORIGIN}/missing`));
    out.otherQuery = String(await cache.match(`${ORIGIN}/item?page=2`));
    out.otherHost = String(await cache.match("https://other.example/item"));

    // A 404 with an explicit lifetime is cached like any other response, status included.
    await cache.put(`${ORIGIN}/gone`, new Response("not here", { status: 404, headers: { "cache-control": "max-age=600" } }));
    out.cached404 = await describe(await cache.match(`${ORIGIN}/gone`));

    // The key's query string is part of the key.
    await cache.put(`${ORIGIN}/search?q=a`, new Response("results a", { headers: { "cache-control": "max-age=600" } }));
    await cache.put(`${ORIGIN}/search?q=b`, new Response("results b", { headers: { "cache-control": "max-age=600" } }));
    out.byQuery = [await (await cache.match(`${ORIGIN}/search?q=a`)).text(), await (await cache.match(`${ORIGIN}/search?q=b`)).text()];

    // The request's Cache-Control is ignored by put.
    await cache.put(
      new Request(`${ORIGIN}/req-cc`, { headers: { "cache-control": "no-store" } }),
      new Response("stored anyway", { headers: { "cache-control": "max-age=600" } }),
    );
    out.requestCacheControlIgnored = (await cache.match(`${ORIGIN}/req-cc`))?.status;

    // put() consumes the response body; clone() first to keep using it.
    const consumed = new Response("once", { headers: { "cache-control": "max-age=600" } });
    await cache.put(`${ORIGIN}/once`, consumed);
    out.bodyUsedAfterPut = consumed.bodyUsed;
    out.putUsedBodyAgain = (await attempt(() => cache.put(`${ORIGIN}/twice`, consumed))).name;
    const original = new Response("kept for the client", { headers: { "cache-control": "max-age=600" } });
    await cache.put(`${ORIGIN}/clone`, original.clone());
    out.originalStillReadable = await original.text();
    out.cloneStored = await (await cache.match(`${ORIGIN}/clone`)).text();

    // A streamed body of unknown length is stored whole.
    const enc = new TextEncoder();
    const stream = new ReadableStream({ start(c) { c.enqueue(enc.encode("str")); c.enqueue(enc.encode("eamed")); c.close(); } });
    await cache.put(`${ORIGIN}/stream`, new Response(stream, { headers: { "cache-control": "max-age=600" } }));
    out.streamed = await (await cache.match(`${ORIGIN}/stream`)).text();

    // Overwrite.
    await cache.put(`${ORIGIN}/item`, new Response("replaced", { headers: { "cache-control": "max-age=600" } }));
    out.overwritten = await (await cache.match(`${ORIGIN}/item`)).text();

    out.deleteExisting = await cache.delete(`${ORIGIN}/item`);
    out.afterDelete = String(await cache.match(`${ORIGIN}/item`));
    out.deleteAgain = await cache.delete(`${ORIGIN}/item`);
    out.deleteNeverStored = await cache.delete(`${ORIGIN}/never`);
    out.deleteByRequest = await cache.delete(new Request(`${ORIGIN}/gone`));
    return Response.json(out);
  },
};
