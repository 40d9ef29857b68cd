// JSON bodies: by hand with JSON.stringify, and with the static Response.json helper.
export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const data = { ok: true, n: 42, list: [1, "two", null], nested: { a: { b: "c" } }, text: "héllo ✓" };
    if (pathname === "/manual") {
      return new Response(JSON.stringify(data), {
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    }
    if (pathname === "/created") {
      return Response.json({ id: 7 }, { status: 201, headers: { "x-extra": "yes" } });
    }
    if (pathname === "/override") {
      // An explicit content-type wins over Response.json's default.
      return Response.json([1, 2], { headers: { "content-type": "application/vnd.api+json" } });
    }
    return Response.json(data);
  },
};
