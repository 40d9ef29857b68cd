// not_found_handling "none". With a worker present, a request that matches no asset runs the
// worker (at this compatibility date even for browser navigations), so the not-found handling shows
// through env.ASSETS.fetch(), which /probe reports for several paths.
const PATHS = ["/style.css", "/missing", "/deep/missing/page", "/docs/missing", "/docs/deeper/missing", "/missing.css"];

async function describe(res) {
  return { status: res.status, contentType: res.headers.get("content-type"), body: await res.text() };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/probe") {
      const out = {};
      for (const p of PATHS) out[p] = await describe(await env.ASSETS.fetch(`https://assets.local${p}`));
      out.headMissing = await describe(await env.ASSETS.fetch("https://assets.local/missing", { method: "HEAD" }));
      out.postMissing = (await env.ASSETS.fetch("https://assets.local/missing", { method: "POST", body: "x" })).status;
      return Response.json(out);
    }
    return new Response(`worker ${url.pathname}`, { headers: { "x-worker": "yes" } });
  },
};
