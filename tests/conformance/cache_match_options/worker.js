// Cache match() honours the request: a Range header gives a 206 slice, If-None-Match and
// If-Modified-Since give a 304, and a non-GET request misses unless ignoreMethod is set (the same
// option applies to delete()).
const URL_ = "https://conditional.example/doc";

async function describe(res) {
  if (res === undefined) return "undefined";
  return {
    status: res.status,
    contentRange: res.headers.get("content-range"),
    etag: res.headers.get("etag"),
    cfCacheStatus: res.headers.get("cf-cache-status"),
    body: await res.text(),
  };
}

export default {
  async fetch(request) {
    const cache = caches.default;
    await cache.put(
      URL_,
      new Response("0123456789", {
        headers: {
          "cache-control": "max-age=600",
          "content-type": "text/plain",
          etag: '"v1"',
          "last-modified": "Wed, 01 Jan 2025 00:00:00 GMT",
        },
      }),
    );
    const get = (headers) => cache.match(new Request(URL_, { headers }));
    return Response.json({
      range: await describe(await get({ range: "bytes=2-5" })),
      rangeOpenEnded: await describe(await get({ range: "bytes=7-" })),
      rangeSuffix: await describe(await get({ range: "bytes=-3" })),
      ifNoneMatch: await describe(await get({ "if-none-match": '"v1"' })),
      ifNoneMatchWeak: await describe(await get({ "if-none-match": 'W/"v1"' })),
      ifNoneMatchList: await describe(await get({ "if-none-match": '"v0", "v1"' })),
      ifNoneMatchStar: await describe(await get({ "if-none-match": "*" })),
      ifNoneMatchOther: await describe(await get({ "if-none-match": '"v2"' })),
      ifModifiedSinceLater: (await get({ "if-modified-since": "Thu, 02 Jan 2025 00:00:00 GMT" }))?.status,
      ifModifiedSinceSame: (await get({ "if-modified-since": "Wed, 01 Jan 2025 00:00:00 GMT" }))?.status,
      ifModifiedSinceEarlier: (await get({ "if-modified-since": "Tue, 31 Dec 2024 00:00:00 GMT" }))?.status,
      methods: {
        head: String(await cache.match(new Request(URL_, { method: "HEAD" }))),
        post: String(await cache.match(new Request(URL_, { method: "POST" }))),
        headIgnoreMethod: await describe(await cache.match(new Request(URL_, { method: "HEAD" }), { ignoreMethod: true })),
        postIgnoreMethod: (await cache.match(new Request(URL_, { method: "POST" }), { ignoreMethod: true }))?.status,
        deletePost: await cache.delete(new Request(URL_, { method: "POST" })),
        stillThere: (await cache.match(URL_))?.status,
        deletePostIgnoreMethod: await cache.delete(new Request(URL_, { method: "POST" }), { ignoreMethod: true }),
        gone: String(await cache.match(URL_)),
      },
    });
  },
};
