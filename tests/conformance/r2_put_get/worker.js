// R2 put with every value type, then get with every body reader. Objects written by one request
// are read back by later ones (state persists across requests in a case).
function describe(o) {
  if (o === null) return null;
  return { key: o.key, size: o.size, etag: o.etag, httpEtag: o.httpEtag, hasBody: "body" in o };
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const B = env.BUCKET;
    if (pathname === "/put") {
      const enc = new TextEncoder();
      const out = {};
      out.string = describe(await B.put("string", "hello r2"));
      out.arrayBuffer = describe(await B.put("arraybuffer", enc.encode("array buffer").buffer));
      out.uint8array = describe(await B.put("uint8array", enc.encode("typed array")));
      out.dataView = describe(await B.put("dataview", new DataView(enc.encode("data view").buffer)));
      out.blob = describe(await B.put("blob", new Blob(["from ", "a blob"])));
      out.null = describe(await B.put("null", null));
      out.empty = describe(await B.put("empty", ""));
      out.json = describe(await B.put("json", JSON.stringify({ a: 1, b: [true, null] })));
      out.unicode = describe(await B.put("ünï/çødé key", "héllo ✓"));
      return Response.json(out);
    }
    if (pathname === "/put-request-body") {
      // A request body has a known length (content-length), so it can be streamed into R2.
      return Response.json(describe(await B.put("request-body", request.body)));
    }
    if (pathname === "/put-fixed-length-stream") {
      const { readable, writable } = new FixedLengthStream(11);
      const w = writable.getWriter();
      w.write(new TextEncoder().encode("fixed "));
      w.write(new TextEncoder().encode("len!!"));
      w.close();
      return Response.json(describe(await B.put("fixed", readable)));
    }
    if (pathname === "/put-unknown-length-stream") {
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("x"));
          c.close();
        },
      });
      try {
        await B.put("unknown", stream);
        return Response.json({ threw: false });
      } catch (e) {
        return Response.json({ name: e.name, message: e.message, exists: (await B.head("unknown")) !== null });
      }
    }
    if (pathname === "/get") {
      const out = {};
      const t = await B.get("string");
      out.text = await t.text();
      out.bodyUsedAfterText = t.bodyUsed;
      out.json = await (await B.get("json")).json();
      const ab = await (await B.get("arraybuffer")).arrayBuffer();
      out.arrayBuffer = { isArrayBuffer: ab instanceof ArrayBuffer, byteLength: ab.byteLength, text: new TextDecoder().decode(ab) };
      const bytes = await (await B.get("uint8array")).bytes();
      out.bytes = { isUint8Array: bytes instanceof Uint8Array, text: new TextDecoder().decode(bytes) };
      const blob = await (await B.get("blob")).blob();
      out.blob = { isBlob: blob instanceof Blob, size: blob.size, text: await blob.text() };
      const s = await B.get("dataview");
      out.stream = { isReadableStream: s.body instanceof ReadableStream, text: await new Response(s.body).text() };
      // Reading the stream by hand with a reader.
      const r = (await B.get("fixed")).body.getReader();
      let chunks = "";
      for (;;) {
        const { done, value } = await r.read();
        if (done) break;
        chunks += new TextDecoder().decode(value, { stream: true });
      }
      out.reader = chunks;
      out.requestBody = await (await B.get("request-body")).text();
      out.null = { size: (await B.get("null")).size, text: await (await B.get("null")).text() };
      out.empty = await (await B.get("empty")).text();
      out.unicode = await (await B.get("ünï/çødé key")).text();
      return Response.json(out);
    }
    if (pathname === "/missing") {
      return Response.json({
        get: await B.get("does-not-exist"),
        head: await B.head("does-not-exist"),
        getWithRange: await B.get("does-not-exist", { range: { offset: 1 } }),
        getWithOnlyIf: await B.get("does-not-exist", { onlyIf: { etagMatches: "abc" } }),
        delete: (await B.delete("does-not-exist")) === undefined,
      });
    }
    if (pathname === "/overwrite") {
      const first = await B.get("string");
      await B.put("string", "replaced");
      const second = await B.get("string");
      return Response.json({
        before: await first.text(),
        after: await second.text(),
        sizeAfter: second.size,
        versionChanged: first.version !== second.version,
        etagChanged: first.etag !== second.etag,
      });
    }
    return new Response("not found", { status: 404 });
  },
};
