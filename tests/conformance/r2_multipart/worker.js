// Multipart uploads: createMultipartUpload, uploadPart, complete, abort, resumeMultipartUpload
// (across requests, with the upload id kept in the bucket), the part-size rules (every part but
// the last at least 5 MiB and all the same size) and the errors.
const MiB = 1024 * 1024;
const PART = 5 * MiB;
const filled = (n, ch) => new Uint8Array(n).fill(ch.charCodeAt(0));

async function attempt(fn) {
  try {
    const v = await fn();
    return { ok: true, value: v === undefined ? "undefined" : v === null ? null : typeof v };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const B = env.BUCKET;
    if (pathname === "/start") {
      const upload = await B.createMultipartUpload("big.bin", {
        httpMetadata: { contentType: "application/octet-stream" },
        customMetadata: { purpose: "multipart test" },
      });
      const part1 = await upload.uploadPart(1, filled(PART, "a"));
      // The upload id and first part survive into the next request.
      await B.put("state", JSON.stringify({ uploadId: upload.uploadId, part1 }));
      return Response.json({
        key: upload.key,
        uploadIdType: typeof upload.uploadId,
        uploadIdNonEmpty: upload.uploadId.length > 0,
        methods: ["uploadPart", "abort", "complete"].map((m) => typeof upload[m]),
        part1: { partNumber: part1.partNumber, etagType: typeof part1.etag },
        notVisibleYet: (await B.head("big.bin")) === null,
      });
    }
    if (pathname === "/finish") {
      const { uploadId, part1 } = await (await B.get("state")).json();
      const upload = B.resumeMultipartUpload("big.bin", uploadId);
      const resumedSync = !(upload instanceof Promise);
      // Parts may be uploaded in any order; complete() lists them in part-number order.
      const part3 = await upload.uploadPart(3, "tail");
      const part2 = await upload.uploadPart(2, filled(PART, "b"));
      const obj = await upload.complete([part1, part2, part3]);
      const got = await B.get("big.bin", { range: { offset: PART - 2, length: 4 } });
      const tail = await B.get("big.bin", { range: { suffix: 6 } });
      return Response.json({
        resumedSync,
        resumedKey: upload.key,
        resumedIdMatches: upload.uploadId === uploadId,
        part2: part2.partNumber,
        part3: part3.partNumber,
        completed: {
          key: obj.key,
          size: obj.size,
          etagMultipartForm: /^[0-9a-f]{32}-3$/.test(obj.etag),
          httpEtagQuoted: obj.httpEtag === `"${obj.etag}"`,
          httpMetadata: obj.httpMetadata,
          customMetadata: obj.customMetadata,
        },
        head: { size: (await B.head("big.bin")).size, etagSame: (await B.head("big.bin")).etag === obj.etag },
        acrossParts: await got.text(),
        tail: await tail.text(),
        completeAgain: await attempt(() => upload.complete([part1, part2, part3])),
      });
    }
    if (pathname === "/abort") {
      const upload = await B.createMultipartUpload("aborted.bin");
      const part = await upload.uploadPart(1, "x");
      const aborted = await upload.abort();
      return Response.json({
        abortReturns: aborted === undefined ? "undefined" : typeof aborted,
        uploadAfterAbort: await attempt(() => upload.uploadPart(2, "y")),
        completeAfterAbort: await attempt(() => upload.complete([part])),
        abortAgain: await attempt(() => upload.abort()),
        objectExists: (await B.head("aborted.bin")) !== null,
      });
    }
    if (pathname === "/single-part") {
      // A single (last) part may be of any size.
      const upload = await B.createMultipartUpload("small.txt");
      const p = await upload.uploadPart(1, "just one small part");
      const obj = await upload.complete([p]);
      return Response.json({ size: obj.size, etagForm: /^[0-9a-f]{32}-1$/.test(obj.etag), text: await (await B.get("small.txt")).text() });
    }
    if (pathname === "/errors") {
      const out = {};
      const upload = await B.createMultipartUpload("bad.bin");
      out.partNumberZero = await attempt(() => upload.uploadPart(0, "x"));
      out.partNumberTooBig = await attempt(() => upload.uploadPart(10001, "x"));
      const small1 = await upload.uploadPart(1, "small part one");
      const small2 = await upload.uploadPart(2, "small part two");
      out.partTooSmall = await attempt(() => upload.complete([small1, small2]));
      out.wrongEtag = await attempt(() => upload.complete([{ partNumber: 1, etag: "not-the-etag" }]));
      out.unknownPart = await attempt(() => upload.complete([{ partNumber: 7, etag: small1.etag }]));
      await upload.abort();
      const unequal = await B.createMultipartUpload("unequal.bin");
      const u1 = await unequal.uploadPart(1, filled(PART, "a"));
      const u2 = await unequal.uploadPart(2, filled(PART + 1, "b"));
      const u3 = await unequal.uploadPart(3, "c");
      out.unequalPartSizes = await attempt(() => unequal.complete([u1, u2, u3]));
      await unequal.abort();
      const bogus = B.resumeMultipartUpload("bad.bin", "bogus-upload-id");
      out.resumeBogusIsSync = !(bogus instanceof Promise) && bogus.uploadId === "bogus-upload-id";
      out.uploadToBogus = await attempt(() => bogus.uploadPart(1, "x"));
      return Response.json(out);
    }
    return new Response("not found", { status: 404 });
  },
};
