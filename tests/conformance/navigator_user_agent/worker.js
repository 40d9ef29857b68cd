// navigator identifies the runtime the way Cloudflare does.
export default {
  async fetch() {
    return Response.json({
      userAgent: navigator.userAgent,
      hardwareConcurrency: navigator.hardwareConcurrency,
      hasNavigator: typeof navigator === "object",
    });
  },
};
