// Cached entries expire after their lifetime: s-maxage wins over max-age for this shared cache.
// /put stores four entries; /check, sent 1.2 s later, sees which are still there.
const ORIGIN = "https://expiry.example";
const ENTRIES = {
  maxAge1: "max-age=1",
  sMaxAge1: "s-maxage=1, max-age=600",
  maxAge1SMaxAge600: "max-age=1, s-maxage=600",
  maxAge600: "max-age=600",
};

async function state(cache) {
  const out = {};
  for (const name of Object.keys(ENTRIES)) {
    const hit = await cache.match(`${ORIGIN}/${name}`);
    out[name] = hit ? await hit.text() : "expired";
  }
  return out;
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const cache = caches.default;
    if (pathname === "/put") {
      for (const [name, cc] of Object.entries(ENTRIES)) {
        await cache.put(`${ORIGIN}/${name}`, new Response(`fresh ${name}`, { headers: { "cache-control": cc } }));
      }
      return Response.json(await state(cache));
    }
    if (pathname === "/check") return Response.json(await state(cache));
    return new Response("no route", { status: 404 });
  },
};
