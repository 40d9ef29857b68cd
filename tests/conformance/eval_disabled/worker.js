// Code generation from strings is refused, as on Cloudflare.
export default {
  async fetch() {
    const attempt = (f) => {
      try {
        return ["ok", f()];
      } catch (e) {
        return [e.name, e instanceof EvalError];
      }
    };
    return Response.json({
      eval: attempt(() => eval("1 + 1")),
      indirectEval: attempt(() => (0, eval)("2 + 2")),
      newFunction: attempt(() => new Function("return 3")()),
      asyncFunction: attempt(() => new (Object.getPrototypeOf(async function () {}).constructor)("return 4")),
      stringTimeout: attempt(() => typeof setTimeout("void 0", 0)),
      json: JSON.parse('{"still":"works"}'),
    });
  },
};
