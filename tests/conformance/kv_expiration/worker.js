// KV expiry options: expirationTtl (seconds from now, at least 60) and expiration (absolute epoch
// seconds, at least 60 s ahead). list() reports every expiry in absolute form. The minimum of 60 s
// means a key cannot be seen expiring within a fast test, so only the fields and errors are checked.
async function attempt(fn, placeholder) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : value };
  } catch (e) {
    // Error texts repeat the rejected timestamp; replace it so the expectation is stable.
    const message = placeholder === undefined ? e.message : e.message.replace(String(placeholder), "<expiration>");
    return { name: e.name, message };
  }
}

export default {
  async fetch(request, env) {
    const KV = env.KV;
    const now = Math.floor(Date.now() / 1000);
    const absolute = now + 3600;
    const soon = now + 30;
    const out = {};

    out.ttl120 = await attempt(() => KV.put("ttl", "v", { expirationTtl: 120 }));
    out.ttlMinimum = await attempt(() => KV.put("ttl60", "v", { expirationTtl: 60 }));
    out.absolute = await attempt(() => KV.put("abs", "v", { expiration: absolute }));
    out.absoluteNearMinimum = await attempt(() => KV.put("abs65", "v", { expiration: now + 65 }));
    out.withMetadata = await attempt(() => KV.put("meta", "v", { expirationTtl: 300, metadata: { m: 1 } }));
    await KV.put("forever", "v");
    await KV.put("cleared", "v", { expirationTtl: 600 });
    await KV.put("cleared", "v2");

    out.errors = {
      ttl59: await attempt(() => KV.put("bad", "v", { expirationTtl: 59 })),
      ttl0: await attempt(() => KV.put("bad", "v", { expirationTtl: 0 })),
      ttlNegative: await attempt(() => KV.put("bad", "v", { expirationTtl: -5 })),
      expirationPast: await attempt(() => KV.put("bad", "v", { expiration: 1000 })),
      expirationNow: await attempt(() => KV.put("bad", "v", { expiration: now }), now),
      expirationIn30s: await attempt(() => KV.put("bad", "v", { expiration: soon }), soon),
      // A common mistake: milliseconds instead of seconds does not fit the 32-bit option.
      expirationMilliseconds: await attempt(() => KV.put("bad", "v", { expiration: Date.now() + 120000 })),
    };
    out.badNotStored = await KV.get("bad");
    out.valuesReadable = [await KV.get("ttl"), await KV.get("abs"), await KV.get("meta")];

    const { keys } = await KV.list();
    // The backend's clock may tick between this worker's Date.now() and the write; allow 2 s.
    const near = (actual, expected) => typeof actual === "number" && Math.abs(actual - expected) <= 2;
    const byName = Object.fromEntries(keys.map((k) => [k.name, k]));
    out.listed = {
      names: keys.map((k) => k.name),
      ttl: near(byName.ttl.expiration, now + 120),
      ttl60: near(byName.ttl60.expiration, now + 60),
      absoluteExact: byName.abs.expiration === absolute,
      abs65Exact: byName.abs65.expiration === now + 65,
      meta: { expiration: near(byName.meta.expiration, now + 300), metadata: byName.meta.metadata },
      forever: byName.forever,
      cleared: byName.cleared,
      integerSeconds: keys.every((k) => k.expiration === undefined || Number.isInteger(k.expiration)),
    };
    return Response.json(out);
  },
};
