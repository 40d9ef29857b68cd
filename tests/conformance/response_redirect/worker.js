// Response.redirect: default 302, explicit codes, and RangeError for a non-redirect status.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/default":
        return Response.redirect("https://example.com/target");
      case "/permanent":
        return Response.redirect("https://example.com/moved?x=1", 301);
      case "/relative-to-request":
        // Absolute URLs built from the request keep working behind any host.
        return Response.redirect(new URL("/landing", "https://example.org/a/b").toString(), 307);
      case "/bad-status":
        try {
          Response.redirect("https://example.com/", 200);
          return new Response("no error");
        } catch (e) {
          return Response.json({ name: e.name, isRangeError: e instanceof RangeError });
        }
      case "/inspect": {
        const r = Response.redirect("https://example.com/", 308);
        return Response.json({ status: r.status, location: r.headers.get("location"), redirected: r.redirected });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
