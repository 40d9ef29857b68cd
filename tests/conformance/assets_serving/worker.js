// Static assets in front of a worker (run_worker_first: false): a path that names a file is
// served from public/ with a Content-Type from its extension and revalidation headers, without
// running the worker; HEAD gets the headers only; other methods on a file get 405; anything
// else runs the worker. /etag checks ETag revalidation through env.ASSETS.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/etag") {
      const first = await env.ASSETS.fetch("https://assets.local/style.css");
      const etag = first.headers.get("etag");
      await first.arrayBuffer();
      const again = await env.ASSETS.fetch("https://assets.local/style.css");
      const other = await env.ASSETS.fetch("https://assets.local/notes.txt");
      const conditional = (value) => env.ASSETS.fetch("https://assets.local/style.css", { headers: { "if-none-match": value } });
      const strong = await conditional(etag);
      const weak = await conditional(`W/${etag}`);
      const mismatch = await conditional('"not-the-etag"');
      return Response.json({
        strongQuoted32Hex: /^"[0-9a-f]{32}"$/.test(etag),
        stable: again.headers.get("etag") === etag,
        perFile: other.headers.get("etag") !== etag,
        strongMatch: { status: strong.status, body: await strong.text(), etag: strong.headers.get("etag") === etag },
        weakMatch: { status: weak.status, body: await weak.text() },
        mismatch: { status: mismatch.status, body: await mismatch.text() },
      });
    }
    return new Response(`worker ${request.method} ${url.pathname}`, { headers: { "x-worker": "yes" } });
  },
};
