// Status codes and status text set by the worker reach the client.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/custom":
        return new Response("missing", { status: 404, statusText: "Nothing Here" });
      case "/teapot":
        return new Response("short and stout", { status: 418 });
      case "/no-content":
        return new Response(null, { status: 204 });
      case "/server-error":
        return new Response("handled", { status: 503, statusText: "Service Unavailable" });
      case "/invalid":
        try {
          new Response("x", { status: 99 });
          return new Response("accepted");
        } catch (e) {
          return new Response(e.name);
        }
      case "/object": {
        const r = new Response("x", { status: 201, statusText: "Made" });
        return Response.json({ status: r.status, statusText: r.statusText, ok: r.ok });
      }
    }
    return new Response("ok");
  },
};
