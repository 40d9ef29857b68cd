// The smallest module worker: a plain-text response.
export default {
  async fetch(request, env, ctx) {
    return new Response("Hello World!");
  },
};
