// The incoming Request's properties, and Requests built in the worker.
export default {
  async fetch(request) {
    const made = new Request("https://api.example.com/v1?x=1", {
      method: "post",
      headers: { "X-Token": "t" },
      body: JSON.stringify({ a: 1 }),
    });
    // A bodyless Request as the init source keeps its URL and headers.
    const derived = new Request(new Request(made.url, { headers: made.headers }), { method: "PUT" });
    let getWithBody = null;
    try {
      new Request("https://example.com/", { method: "GET", body: "x" });
    } catch (e) {
      getWithBody = e.name;
    }
    return Response.json({
      incoming: {
        method: request.method,
        url: request.url,
        redirect: request.redirect,
        bodyUsed: request.bodyUsed,
        hasCf: "cf" in request,
        signal: request.signal instanceof AbortSignal,
      },
      made: {
        method: made.method,
        url: made.url,
        token: made.headers.get("x-token"),
        contentType: made.headers.get("content-type"),
        body: await made.json(),
      },
      derived: { method: derived.method, url: derived.url, token: derived.headers.get("x-token") },
      getWithBody,
    });
  },
};
