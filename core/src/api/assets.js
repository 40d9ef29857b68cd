(function (ops, internals) {
  "use strict";

  // env.ASSETS: a Fetcher whose fetch() goes to the host's asset server instead of the network.
  // Request parsing (and its errors) is the Request constructor's; redirects are followed here,
  // as fetch() follows them, unless the request says redirect: "manual".
  const { hostCall, headerPairs, newFetchedResponse } = internals;
  // Captured now, so a worker that replaces the globals cannot change how the binding parses.
  const Request = globalThis.Request;
  const URL = internals.URL;
  const MAX_REDIRECTS = 20;
  const REDIRECT_STATUSES = [301, 302, 303, 307, 308];
  const REASONS = {
    200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
  };

  class Fetcher {
    #binding;

    constructor(key, binding) {
      if (key !== internals.illegalConstructor) throw new TypeError("Illegal constructor");
      this.#binding = binding;
    }

    async fetch(input, init = undefined) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      const request = new Request(input, init);
      let method = request.method;
      let url = request.url;
      const headers = headerPairs(request.headers).flat();
      let redirected = false;
      for (let hops = 0; ; hops++) {
        const [status, headersFlat, body] = await hostCall(ops.op_assets_fetch, this.#binding, method, url, headers);
        let location = null;
        for (let i = 0; i + 1 < headersFlat.length; i += 2) {
          if (String(headersFlat[i]).toLowerCase() === "location") location = headersFlat[i + 1];
        }
        if (request.redirect === "follow" && REDIRECT_STATUSES.includes(status) && location !== null) {
          if (hops >= MAX_REDIRECTS) throw new TypeError("Too many redirects.");
          url = new URL(location, url).href;
          redirected = true;
          // As fetch() does: 303 turns anything but HEAD into GET, 301/302 turn POST into GET.
          if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
            method = "GET";
          }
          continue;
        }
        return newFetchedResponse(status, REASONS[status] ?? "", headersFlat, method === "HEAD" ? null : body, url, redirected);
      }
    }
  }
  internals.setToStringTag(Fetcher, "Fetcher");

  internals.envKinds.assets = (index) => new Fetcher(internals.illegalConstructor, Number(index));
})
