// Methods reach the worker unchanged, and a small router answers per method and path.
export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/items") {
      switch (request.method) {
        case "GET":
          return Response.json(["a", "b"]);
        case "POST":
          return new Response(`created ${await request.text()}`, { status: 201 });
        case "DELETE":
          return new Response(null, { status: 204 });
        case "OPTIONS":
          return new Response(null, { status: 204, headers: { allow: "GET, POST, DELETE, OPTIONS" } });
        default:
          return new Response("method not allowed", { status: 405, headers: { allow: "GET, POST, DELETE, OPTIONS" } });
      }
    }
    if (pathname === "/echo") {
      return new Response(`${request.method} ${await request.text()}`, { headers: { "x-method": request.method } });
    }
    return new Response("not found", { status: 404 });
  },
};
