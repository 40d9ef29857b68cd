// R2Object fields: key, version, size, etag, httpEtag, uploaded, httpMetadata, customMetadata,
// checksums, storageClass, and writeHttpMetadata(); the same fields from put(), head() and get().
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

function fields(o) {
  return {
    key: o.key,
    versionType: typeof o.version,
    versionNonEmpty: o.version.length > 0,
    size: o.size,
    etag: o.etag,
    httpEtag: o.httpEtag,
    uploadedIsDate: o.uploaded instanceof Date,
    uploadedRecent: Math.abs(Date.now() - o.uploaded.getTime()) < 60000,
    httpMetadata: o.httpMetadata,
    customMetadata: o.customMetadata,
    checksums: o.checksums.toJSON(),
    md5Type: o.checksums.md5 === undefined ? "undefined" : o.checksums.md5.constructor.name,
    md5Hex: o.checksums.md5 ? hex(o.checksums.md5) : null,
    hasBody: "body" in o,
  };
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const B = env.BUCKET;
    if (pathname === "/put") {
      const put = await B.put("doc.html", "<h1>hi</h1>", {
        httpMetadata: {
          contentType: "text/html; charset=utf-8",
          contentLanguage: "en-GB",
          contentDisposition: 'inline; filename="doc.html"',
          contentEncoding: "identity",
          cacheControl: "max-age=60",
          cacheExpiry: new Date("2030-01-02T03:04:05.000Z"),
        },
        customMetadata: { owner: "alice", "x-tag": "blue" },
      });
      return Response.json(fields(put));
    }
    if (pathname === "/head") {
      const head = await B.head("doc.html");
      return Response.json(fields(head));
    }
    if (pathname === "/get") {
      const got = await B.get("doc.html");
      return Response.json({ ...fields(got), bodyText: await got.text() });
    }
    if (pathname === "/same-version") {
      const [a, b, c] = [await B.head("doc.html"), await B.get("doc.html"), await B.head("doc.html")];
      return Response.json({ headGet: a.version === b.version, headHead: a.version === c.version, uploaded: a.uploaded.getTime() === b.uploaded.getTime() });
    }
    if (pathname === "/write-http-metadata") {
      const head = await B.head("doc.html");
      const h = new Headers({ "x-existing": "kept", "content-type": "text/plain" });
      const ret = head.writeHttpMetadata(h);
      return Response.json({ returned: ret === undefined ? "undefined" : typeof ret, headers: [...h] });
    }
    if (pathname === "/serve") {
      // The usual way to serve an object: copy its metadata into the response headers.
      const obj = await B.get("doc.html");
      const headers = new Headers();
      obj.writeHttpMetadata(headers);
      headers.set("etag", obj.httpEtag);
      return new Response(obj.body, { headers });
    }
    if (pathname === "/http-metadata-from-headers") {
      // httpMetadata may be given as a Headers object; unrelated headers are ignored.
      const put = await B.put("from-headers", "x", {
        httpMetadata: new Headers({ "content-type": "application/json", "cache-control": "no-store", "x-other": "ignored", "content-language": "fr" }),
      });
      const head = await B.head("from-headers");
      return Response.json({ put: put.httpMetadata, head: head.httpMetadata });
    }
    if (pathname === "/defaults") {
      // No metadata given: empty objects, Standard storage class.
      const put = await B.put("plain", "plain");
      const head = await B.head("plain");
      const h = new Headers();
      head.writeHttpMetadata(h);
      return Response.json({ put: fields(put), head: fields(head), written: [...h] });
    }
    if (pathname === "/md5") {
      // An md5 given to put() is checked and stored; as hex string or as ArrayBuffer.
      const md5hex = "5d41402abc4b2a76b9719d911017c592"; // md5("hello")
      const asString = await B.put("md5-string", "hello", { md5: md5hex });
      const bytes = new Uint8Array(md5hex.match(/../g).map((x) => parseInt(x, 16)));
      const asBuffer = await B.put("md5-buffer", "hello", { md5: bytes.buffer });
      const head = await B.head("md5-string");
      return Response.json({ asString: fields(asString), asBuffer: fields(asBuffer), head: fields(head) });
    }
    if (pathname === "/sha") {
      const sha1 = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"; // sha1("hello")
      const sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
      const a = await B.put("sha1", "hello", { sha1 });
      const b = await B.put("sha256", "hello", { sha256 });
      const h = await B.head("sha256");
      return Response.json({ sha1: a.checksums.toJSON(), sha256: b.checksums.toJSON(), headSha256: h.checksums.toJSON() });
    }
    if (pathname === "/storage-class") {
      // Default "Standard"; an explicit class is kept. (Miniflare does not model storage classes.)
      const def = await B.put("default-class", "x");
      const ia = await B.put("ia", "cold", { storageClass: "InfrequentAccess" });
      const std = await B.put("std", "warm", { storageClass: "Standard" });
      return Response.json({
        default: def.storageClass,
        defaultHead: (await B.head("default-class")).storageClass,
        ia: ia.storageClass,
        iaHead: (await B.head("ia")).storageClass,
        std: std.storageClass,
      });
    }
    return new Response("not found", { status: 404 });
  },
};
