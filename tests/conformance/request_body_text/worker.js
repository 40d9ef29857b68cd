// Request bodies read as text, echoed with the method and length.
export default {
  async fetch(request) {
    const text = await request.text();
    return new Response(`${request.method} ${text.length}: ${text}`, {
      headers: { "x-body-used": String(request.bodyUsed) },
    });
  },
};
