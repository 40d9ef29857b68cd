// env carries the config's vars: strings as strings, other JSON values parsed.
export default {
  async fetch(request, env) {
    return Response.json({
      greeting: env.GREETING,
      empty: env.EMPTY,
      limit: env.LIMIT,
      limitType: typeof env.LIMIT,
      enabled: env.ENABLED,
      config: env.CONFIG,
      regions: env.CONFIG.regions.length,
      missing: env.NOT_SET === undefined,
      keys: Object.keys(env).sort(),
    });
  },
};
