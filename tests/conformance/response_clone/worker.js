// Response.clone(): both copies can be read; a used body cannot be cloned or read again.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/return-clone") {
      const original = new Response("body for both", { status: 202, headers: { "x-a": "1" } });
      const copy = original.clone();
      await original.text();
      return copy;
    }
    const r = new Response("cloned text", { headers: { "x-h": "v" } });
    const c = r.clone();
    const a = await r.text();
    const b = await c.text();
    let readTwice = null;
    try {
      await r.text();
    } catch (e) {
      readTwice = e.name;
    }
    let cloneUsed = null;
    try {
      r.clone();
    } catch (e) {
      cloneUsed = e.name;
    }
    const req = new Request("https://example.com/x", { method: "POST", body: "req body" });
    const reqCopy = req.clone();
    return Response.json({
      a,
      b,
      header: c.headers.get("x-h"),
      bodyUsed: [r.bodyUsed, c.bodyUsed],
      readTwice,
      cloneUsed,
      request: [await req.text(), await reqCopy.text(), reqCopy.method],
    });
  },
};
