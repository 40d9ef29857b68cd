// html_handling "auto-trailing-slash": how extensionless paths, .html paths, index.html and trailing slashes
// map to the files in public/. Canonicalisation redirects are 307 and keep the query string.
// A path no asset serves falls through to this worker, which names itself in the body.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    return new Response(`worker ${url.pathname}${url.search}`, { headers: { "x-worker": "yes" } });
  },
};
