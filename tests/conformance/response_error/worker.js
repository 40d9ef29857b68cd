// Response.error(): a network-error response with status 0 and type "error".
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/inspect") {
      const r = Response.error();
      return Response.json({ status: r.status, type: r.type, ok: r.ok, statusText: r.statusText });
    }
    if (url.pathname === "/types") {
      return Response.json({ basic: new Response("x").type, ok: new Response("x").ok, notOk: new Response("x", { status: 404 }).ok });
    }
    // Returning an error response from the handler fails the request.
    return Response.error();
  },
};
