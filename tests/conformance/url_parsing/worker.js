// URL parsing and mutation, starting from the request's own URL.
export default {
  async fetch(request) {
    const u = new URL(request.url);
    const parts = {
      href: u.href,
      protocol: u.protocol,
      host: u.host,
      hostname: u.hostname,
      port: u.port,
      pathname: u.pathname,
      search: u.search,
      hash: u.hash,
      origin: u.origin,
      q: u.searchParams.get("q"),
    };
    const m = new URL("https://user:pw@example.com:8443/a/b/../c?x=1#frag");
    const parsed = {
      username: m.username,
      password: m.password,
      port: m.port,
      pathname: m.pathname,
      hash: m.hash,
      defaultPort: new URL("https://example.com:443/").port,
      idn: new URL("https://bücher.example/").hostname,
      encodedPath: new URL("https://example.com/a b/ü").pathname,
      relative: new URL("../d?y=2", "https://example.com/a/b/c").href,
      lowercasedHost: new URL("HTTPS://EXAMPLE.com/Path").href,
    };
    const w = new URL("https://example.com/start");
    w.pathname = "/changed/path";
    w.searchParams.set("page", "2");
    w.searchParams.append("q", "a b");
    w.hash = "top";
    w.port = "8080";
    const mutated = { href: w.href, search: w.search, json: JSON.stringify({ u: w }) };
    let invalid;
    try {
      new URL("not a url");
      invalid = "parsed";
    } catch (e) {
      invalid = e.name;
    }
    return Response.json({ parts, parsed, mutated, invalid, toString: String(new URL("http://a.com")) });
  },
};
