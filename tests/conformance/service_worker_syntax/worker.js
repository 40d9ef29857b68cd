// Service-worker syntax: no ES exports, a global fetch listener calling respondWith.
addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.pathname === "/async") {
    // respondWith also takes a promise for a Response.
    event.respondWith(
      new Promise((resolve) => setTimeout(() => resolve(new Response("later")), 5)),
    );
    return;
  }
  if (url.pathname === "/info") {
    event.respondWith(
      Response.json({
        type: event.type,
        method: event.request.method,
        hasWaitUntil: typeof event.waitUntil,
        isFetchEvent: typeof FetchEvent === "function" && event instanceof FetchEvent,
      }),
    );
    return;
  }
  event.respondWith(new Response("hello from a service worker"));
});
