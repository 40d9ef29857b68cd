// Which responses put() actually stores. put() resolves either way; a later match() tells.
// Stored: an explicit lifetime (max-age, s-maxage, a future Expires). Not stored: no-store,
// private, no-cache, a past Expires, and any Set-Cookie unless Cache-Control has
// private=Set-Cookie, in which case the cookie is stripped and the rest stored.
const ORIGIN = "https://rules.example";

const CASES = {
  maxAge: { "cache-control": "max-age=600" },
  sMaxAge: { "cache-control": "s-maxage=600" },
  publicMaxAge: { "cache-control": "public, max-age=600" },
  mustRevalidate: { "cache-control": "must-revalidate, max-age=600" },
  expiresFuture: { expires: "FUTURE" },
  maxAgeBeatsPastExpires: { "cache-control": "max-age=600", expires: "Thu, 01 Jan 1970 00:00:00 GMT" },
  noStore: { "cache-control": "no-store" },
  noStoreWithMaxAge: { "cache-control": "no-store, max-age=600" },
  private: { "cache-control": "private, max-age=600" },
  noCache: { "cache-control": "no-cache, max-age=600" },
  expiresPast: { expires: "Thu, 01 Jan 1970 00:00:00 GMT" },
  setCookie: { "cache-control": "max-age=600", "set-cookie": "session=abc" },
  setCookiePublic: { "cache-control": "public, max-age=600", "set-cookie": "session=abc" },
  setCookiePrivateSetCookie: { "cache-control": "private=Set-Cookie, max-age=600", "set-cookie": "session=abc", "x-kept": "yes" },
};

export default {
  async fetch(request) {
    const cache = caches.default;
    const out = {};
    for (const [name, spec] of Object.entries(CASES)) {
      const headers = { ...spec };
      if (headers.expires === "FUTURE") headers.expires = new Date(Date.now() + 3600 * 1000).toUTCString();
      const putResult = await cache.put(`${ORIGIN}/${name}`, new Response(`body of ${name}`, { headers }));
      const hit = await cache.match(`${ORIGIN}/${name}`);
      out[name] = hit
        ? { putResult: String(putResult), stored: true, body: await hit.text(), setCookie: hit.headers.get("set-cookie"), xKept: hit.headers.get("x-kept") }
        : { putResult: String(putResult), stored: false };
    }
    // A redirect with a lifetime is stored with its status and Location.
    await cache.put(`${ORIGIN}/moved`, new Response(null, { status: 301, headers: { location: "/new", "cache-control": "max-age=600" } }));
    const moved = await cache.match(`${ORIGIN}/moved`);
    out.redirect = { status: moved.status, location: moved.headers.get("location") };
    return Response.json(out);
  },
};
