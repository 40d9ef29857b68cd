// list(): lexicographic order, prefix, delimiter -> delimitedPrefixes, limit + cursor pagination,
// truncated, startAfter, include ["httpMetadata", "customMetadata"], and the limit error.
const KEYS = ["a.txt", "b.txt", "dir/one.txt", "dir/sub/deep.txt", "dir/two.txt", "other/x.txt", "z.txt"];
const keys = (r) => r.objects.map((o) => o.key);

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const B = env.BUCKET;
    if (pathname === "/setup") {
      // Written out of order: listing sorts by key.
      for (const k of [...KEYS].reverse()) {
        await B.put(k, `content of ${k}`, {
          httpMetadata: { contentType: "text/plain" },
          customMetadata: { name: k },
        });
      }
      return Response.json({ written: KEYS.length });
    }
    if (pathname === "/all") {
      const r = await B.list();
      const first = r.objects[0];
      return Response.json({
        keys: keys(r),
        truncated: r.truncated,
        hasCursor: "cursor" in r && r.cursor !== undefined,
        delimitedPrefixes: r.delimitedPrefixes,
        firstObject: {
          key: first.key,
          size: first.size,
          etag: first.etag,
          httpEtag: first.httpEtag,
          uploadedIsDate: first.uploaded instanceof Date,
          versionType: typeof first.version,
          hasBody: "body" in first,
        },
      });
    }
    if (pathname === "/prefix-delimiter") {
      const prefix = await B.list({ prefix: "dir/" });
      const delim = await B.list({ delimiter: "/" });
      const both = await B.list({ prefix: "dir/", delimiter: "/" });
      const none = await B.list({ prefix: "nothing/" });
      return Response.json({
        prefix: { keys: keys(prefix), delimitedPrefixes: prefix.delimitedPrefixes, truncated: prefix.truncated },
        delimiter: { keys: keys(delim), delimitedPrefixes: delim.delimitedPrefixes, truncated: delim.truncated },
        prefixAndDelimiter: { keys: keys(both), delimitedPrefixes: both.delimitedPrefixes },
        noMatch: { keys: keys(none), delimitedPrefixes: none.delimitedPrefixes, truncated: none.truncated },
      });
    }
    if (pathname === "/paginate") {
      // limit 3: pages of at most 3 until truncated is false; cursor only while truncated.
      const pages = [];
      let cursor;
      for (let i = 0; i < 10; i++) {
        const r = await B.list({ limit: 3, cursor });
        pages.push({ keys: keys(r), truncated: r.truncated, cursorType: typeof r.cursor });
        if (!r.truncated) break;
        cursor = r.cursor;
      }
      return Response.json({ pages, allKeys: pages.flatMap((p) => p.keys) });
    }
    if (pathname === "/start-after") {
      const r = await B.list({ startAfter: "dir/sub/deep.txt" });
      const withPrefix = await B.list({ prefix: "dir/", startAfter: "dir/one.txt" });
      return Response.json({ keys: keys(r), withPrefix: keys(withPrefix) });
    }
    if (pathname === "/include") {
      const plain = await B.list({ prefix: "a" });
      const http = await B.list({ prefix: "a", include: ["httpMetadata"] });
      const custom = await B.list({ prefix: "a", include: ["customMetadata"] });
      const both = await B.list({ prefix: "a", include: ["httpMetadata", "customMetadata"] });
      const pick = (r) => ({ httpMetadata: r.objects[0].httpMetadata, customMetadata: r.objects[0].customMetadata });
      return Response.json({ plain: pick(plain), http: pick(http), custom: pick(custom), both: pick(both) });
    }
    if (pathname === "/errors") {
      const out = {};
      for (const [name, opts] of [["limit0", { limit: 0 }], ["limit1001", { limit: 1001 }], ["badInclude", { include: ["nope"] }]]) {
        try {
          const r = await B.list(opts);
          out[name] = { ok: true, count: r.objects.length };
        } catch (e) {
          out[name] = { name: e.name, message: e.message };
        }
      }
      return Response.json(out);
    }
    if (pathname === "/delete") {
      const single = await B.delete("a.txt");
      const many = await B.delete(["b.txt", "z.txt", "missing-key"]);
      const r = await B.list();
      return Response.json({ singleReturns: single === undefined ? "undefined" : typeof single, manyReturns: many === undefined ? "undefined" : typeof many, remaining: keys(r), aGone: (await B.get("a.txt")) === null });
    }
    return new Response("not found", { status: 404 });
  },
};
