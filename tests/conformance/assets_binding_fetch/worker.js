// env.<binding>.fetch() for static assets (the binding name is configurable; here STATIC): it
// takes an absolute URL string, a URL or a Request, ignores the host and the query, follows
// redirects unless told not to, and answers HEAD without a body. Non-GET/HEAD methods get 405
// for a file. Range is ignored (the whole file, 200), and a request carrying Range or
// Authorization gets no Cache-Control. If-None-Match must equal the ETag exactly (strong or W/).
async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

async function describe(res) {
  if (!(res instanceof Response)) return res;
  return {
    status: res.status,
    url: res.url,
    redirected: res.redirected,
    location: res.headers.get("location"),
    contentType: res.headers.get("content-type"),
    cacheControl: res.headers.get("cache-control"),
    body: await res.text(),
  };
}

export default {
  async fetch(request, env) {
    const A = env.STATIC;
    const etag = (await A.fetch("http://a/notes.txt")).headers.get("etag");
    const ifNoneMatch = async (value) => (await A.fetch("http://a/notes.txt", { headers: { "if-none-match": value } })).status;
    return Response.json({
      binding: { type: typeof A, fetch: typeof A.fetch },
      anyHost: await describe(await A.fetch("https://some.other.host.example/notes.txt")),
      urlObject: (await A.fetch(new URL("http://a/notes.txt"))).status,
      requestObject: (await A.fetch(new Request("http://a/notes.txt"))).status,
      fromIncomingRequest: await describe(await A.fetch(new Request(new URL("/notes.txt", request.url), request))),
      relativeString: await attempt(() => A.fetch("/notes.txt")),
      queryIgnored: await describe(await A.fetch("http://a/notes.txt?version=3")),
      root: await describe(await A.fetch("http://a/")),
      head: await describe(await A.fetch("http://a/notes.txt", { method: "HEAD" })),
      postFile: (await A.fetch("http://a/notes.txt", { method: "POST", body: "x" })).status,
      deleteFile: (await A.fetch("http://a/notes.txt", { method: "DELETE" })).status,
      postMissing: (await A.fetch("http://a/nothing", { method: "POST", body: "x" })).status,
      missing: await describe(await A.fetch("http://a/nothing")),
      redirectFollowed: await describe(await A.fetch("http://a/about.html")),
      redirectManual: await describe(await A.fetch("http://a/about.html", { redirect: "manual" })),
      range: await describe(await A.fetch("http://a/notes.txt", { headers: { range: "bytes=0-4" } })),
      authorization: await describe(await A.fetch("http://a/notes.txt", { headers: { authorization: "Bearer x" } })),
      ifNoneMatch: {
        strong: await ifNoneMatch(etag),
        weak: await ifNoneMatch(`W/${etag}`),
        list: await ifNoneMatch(`"other", ${etag}`),
        star: await ifNoneMatch("*"),
      },
    });
  },
};
