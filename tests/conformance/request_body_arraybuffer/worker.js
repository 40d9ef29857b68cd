// Bodies as bytes: arrayBuffer() holds the UTF-8 encoding; a binary response has no
// content-type unless the worker sets one.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/binary") {
      return new Response(new Uint8Array([104, 105, 33]));
    }
    if (url.pathname === "/buffer") {
      return new Response(new Uint8Array([111, 107]).buffer, {
        headers: { "content-type": "application/octet-stream" },
      });
    }
    const buf = await request.arrayBuffer();
    const bytes = new Uint8Array(buf);
    return Response.json({
      isArrayBuffer: buf instanceof ArrayBuffer,
      byteLength: buf.byteLength,
      bytes: Array.from(bytes),
    });
  },
};
