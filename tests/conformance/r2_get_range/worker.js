// Ranged reads: {offset, length}, {offset}, {length}, {suffix}, a Headers object with a Range
// header, the `range` field of the result, and the errors for unsatisfiable or invalid ranges.
async function read(B, range) {
  try {
    const o = await B.get("digits", { range });
    return { text: await o.text(), range: o.range, size: o.size };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const B = env.BUCKET;
    if (pathname === "/setup") {
      const o = await B.put("digits", "0123456789");
      return Response.json({ size: o.size });
    }
    if (pathname === "/ranges") {
      return Response.json({
        offsetLength: await read(B, { offset: 2, length: 3 }),
        offsetOnly: await read(B, { offset: 7 }),
        lengthOnly: await read(B, { length: 4 }),
        suffix: await read(B, { suffix: 3 }),
        wholeViaOffsetZero: await read(B, { offset: 0 }),
        lengthPastEnd: await read(B, { offset: 8, length: 100 }),
        suffixLongerThanObject: await read(B, { suffix: 50 }),
        headersRange: await read(B, new Headers({ range: "bytes=1-4" })),
        headersOpenRange: await read(B, new Headers({ range: "bytes=6-" })),
        headersSuffix: await read(B, new Headers({ range: "bytes=-2" })),
      });
    }
    if (pathname === "/errors") {
      return Response.json({
        suffixWithOffset: await read(B, { suffix: 2, offset: 1 }),
        suffixWithLength: await read(B, { suffix: 2, length: 1 }),
        offsetPastEnd: await read(B, { offset: 20 }),
        negativeOffset: await read(B, { offset: -1 }),
      });
    }
    return new Response("not found", { status: 404 });
  },
};
