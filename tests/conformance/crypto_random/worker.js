// crypto.randomUUID and crypto.getRandomValues.
export default {
  async fetch() {
    const uuid = crypto.randomUUID();
    const uuids = new Set(Array.from({ length: 100 }, () => crypto.randomUUID()));
    const bytes = new Uint8Array(32);
    const returned = crypto.getRandomValues(bytes);
    const words = crypto.getRandomValues(new Uint32Array(8));
    let tooBig = null;
    try {
      crypto.getRandomValues(new Uint8Array(65537));
    } catch (e) {
      tooBig = e.name;
    }
    let floats = null;
    try {
      crypto.getRandomValues(new Float64Array(2));
    } catch (e) {
      floats = e.name;
    }
    return Response.json({
      uuidFormat: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid),
      uuidLength: uuid.length,
      unique: uuids.size,
      sameArray: returned === bytes,
      notAllZero: bytes.some((b) => b !== 0),
      wordsLength: words.length,
      maxSizeOk: crypto.getRandomValues(new Uint8Array(65536)).length,
      tooBig,
      floats,
    });
  },
};
