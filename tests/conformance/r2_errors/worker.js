// R2 errors with their exact messages: checksum mismatch, malformed checksums, key too long,
// invalid arguments. Each attempt is caught and reported as {name, message}.
async function attempt(fn) {
  try {
    const v = await fn();
    return { ok: true, value: v === null ? null : typeof v };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const B = env.BUCKET;
    if (pathname === "/checksums") {
      const md5Of = "5d41402abc4b2a76b9719d911017c592"; // md5("hello")
      return Response.json({
        md5Mismatch: await attempt(() => B.put("k", "hello!", { md5: md5Of })),
        md5MismatchStored: (await B.head("k")) !== null,
        sha1Mismatch: await attempt(() => B.put("k", "hello!", { sha1: "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" })),
        md5WrongLengthHex: await attempt(() => B.put("k", "hello", { md5: "abcd" })),
        md5WrongLengthBuffer: await attempt(() => B.put("k", "hello", { md5: new Uint8Array(4).buffer })),
        sha256WrongLength: await attempt(() => B.put("k", "hello", { sha256: "00" })),
        md5NotHex: await attempt(() => B.put("k", "hello", { md5: "zz41402abc4b2a76b9719d911017c592" })),
        twoHashes: await attempt(() => B.put("k", "hello", { md5: md5Of, sha1: "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" })),
      });
    }
    if (pathname === "/keys") {
      const long = "k".repeat(1025);
      const max = "m".repeat(1024);
      return Response.json({
        putKeyTooLong: await attempt(() => B.put(long, "x")),
        getKeyTooLong: await attempt(() => B.get(long)),
        headKeyTooLong: await attempt(() => B.head(long)),
        putKey1024: await attempt(() => B.put(max, "x")),
        getKey1024: (await B.get(max)) !== null,
      });
    }
    if (pathname === "/metadata-size") {
      // Object metadata is limited to 8,192 bytes.
      return Response.json({
        meta3000: await attempt(() => B.put("m3000", "x", { customMetadata: { k: "v".repeat(3000) } })),
        meta9000: await attempt(() => B.put("m9000", "x", { customMetadata: { k: "v".repeat(9000) } })),
      });
    }
    if (pathname === "/delete-limit") {
      // delete() takes at most 1000 keys per call.
      const keys = (n) => Array.from({ length: n }, (_, i) => `k${i}`);
      const d1000 = await attempt(() => B.delete(keys(1000)));
      let threw1001 = false;
      try {
        await B.delete(keys(1001));
      } catch {
        threw1001 = true;
      }
      return Response.json({ d1000, threw1001 });
    }
    if (pathname === "/misc") {
      let clone;
      try {
        structuredClone(B);
        clone = { ok: true };
      } catch (e) {
        clone = { name: e.name, message: e.message };
      }
      return Response.json({
        structuredCloneBinding: clone,
        ssecKeyWrongLength: await attempt(() => B.put("s", "x", { ssecKey: "00" })),
      });
    }
    if (pathname === "/arguments") {
      return Response.json({
        putNumber: await attempt(() => B.put("k", 42)),
        putObject: await attempt(() => B.put("k", { a: 1 })),
        customMetadataCoerced: await (async () => {
          // customMetadata is a Record<string, string>: values are converted to strings.
          await B.put("cm", "x", { customMetadata: { n: 1, t: true } });
          return (await B.head("cm")).customMetadata;
        })(),
      });
    }
    return new Response("not found", { status: 404 });
  },
};
