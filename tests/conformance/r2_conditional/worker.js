// Conditional reads and writes. get() with a failing onlyIf returns the R2Object without a body
// (not null, no exception); put() with a failing onlyIf returns null and leaves the object alone.
// Conditions: etagMatches, etagDoesNotMatch, uploadedBefore, uploadedAfter, or a Headers object
// with If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since.
const HOUR = 3600 * 1000;

async function cond(B, onlyIf) {
  try {
    const o = await B.get("obj", { onlyIf });
    if (o === null) return null;
    return "body" in o ? { body: await o.text() } : { body: false, key: o.key, size: o.size, etagOk: typeof o.etag === "string" };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const B = env.BUCKET;
    const obj = await B.head("obj");
    const etag = obj?.etag;
    const past = new Date(Date.now() - HOUR);
    const future = new Date(Date.now() + HOUR);
    if (pathname === "/setup") {
      const o = await B.put("obj", "conditional body");
      return Response.json({ etag: o.etag });
    }
    if (pathname === "/get") {
      return Response.json({
        etagMatchesHit: await cond(B, { etagMatches: etag }),
        etagMatchesQuoted: await cond(B, { etagMatches: `"${etag}"` }),
        etagMatchesMiss: await cond(B, { etagMatches: "0123456789abcdef0123456789abcdef" }),
        etagMatchesWildcard: await cond(B, { etagMatches: "*" }),
        etagDoesNotMatchHit: await cond(B, { etagDoesNotMatch: "0123456789abcdef0123456789abcdef" }),
        etagDoesNotMatchMiss: await cond(B, { etagDoesNotMatch: etag }),
        uploadedBeforeFuture: await cond(B, { uploadedBefore: future }),
        uploadedBeforePast: await cond(B, { uploadedBefore: past }),
        uploadedAfterPast: await cond(B, { uploadedAfter: past }),
        uploadedAfterFuture: await cond(B, { uploadedAfter: future }),
        combinedAllHold: await cond(B, { etagMatches: etag, uploadedAfter: past }),
        // As in HTTP (RFC 9110 13.2.2): when etagMatches (If-Match) holds, uploadedBefore
        // (If-Unmodified-Since) is not evaluated.
        etagMatchesOverridesUploadedBefore: await cond(B, { etagMatches: etag, uploadedBefore: past }),
      });
    }
    if (pathname === "/get-headers") {
      return Response.json({
        ifMatchHit: await cond(B, new Headers({ "if-match": `"${etag}"` })),
        ifMatchMiss: await cond(B, new Headers({ "if-match": '"nope"' })),
        ifNoneMatchHit: await cond(B, new Headers({ "if-none-match": '"nope"' })),
        ifNoneMatchMiss: await cond(B, new Headers({ "if-none-match": `"${etag}"` })),
        ifModifiedSincePast: await cond(B, new Headers({ "if-modified-since": past.toUTCString() })),
        ifModifiedSinceFuture: await cond(B, new Headers({ "if-modified-since": future.toUTCString() })),
        ifUnmodifiedSinceFuture: await cond(B, new Headers({ "if-unmodified-since": future.toUTCString() })),
        ifUnmodifiedSincePast: await cond(B, new Headers({ "if-unmodified-since": past.toUTCString() })),
        emptyHeaders: await cond(B, new Headers()),
      });
    }
    if (pathname === "/put") {
      const failed = await B.put("obj", "should not be written", { onlyIf: { etagMatches: "0123456789abcdef0123456789abcdef" } });
      const afterFailed = await (await B.get("obj")).text();
      const failedDnm = await B.put("obj", "should not be written", { onlyIf: { etagDoesNotMatch: etag } });
      const failedHeaders = await B.put("obj", "should not be written", { onlyIf: new Headers({ "if-match": '"nope"' }) });
      const failedBefore = await B.put("obj", "should not be written", { onlyIf: { uploadedBefore: past } });
      const stillThere = await (await B.get("obj")).text();
      const ok = await B.put("obj", "updated body", { onlyIf: { etagMatches: etag } });
      const afterOk = await (await B.get("obj")).text();
      // A conditional put on a missing key: etagDoesNotMatch holds, etagMatches does not.
      const newKeyDnm = await B.put("fresh", "created", { onlyIf: { etagDoesNotMatch: etag } });
      const newKeyMatch = await B.put("fresh2", "created", { onlyIf: { etagMatches: etag } });
      return Response.json({
        failed,
        afterFailed,
        failedDnm,
        failedHeaders,
        failedBefore,
        stillThere,
        okKey: ok && ok.key,
        afterOk,
        newKeyDnm: newKeyDnm && newKeyDnm.key,
        newKeyMatch,
        fresh2Exists: (await B.head("fresh2")) !== null,
      });
    }
    return new Response("not found", { status: 404 });
  },
};
