// structuredClone: deep copies of the structured-clonable types, cycles, and DataCloneError.
export default {
  async fetch() {
    const original = {
      date: new Date(0),
      map: new Map([["k", { v: 1 }]]),
      set: new Set([1, 2, 2, 3]),
      bytes: new Uint8Array([1, 2, 3]),
      regexp: /ab+c/gi,
      big: 12345678901234567890n,
      nested: { arr: [1, { deep: true }] },
    };
    original.self = original;
    const copy = structuredClone(original);
    copy.nested.arr[1].deep = false;
    let fnError = null;
    try {
      structuredClone({ f() {} });
    } catch (e) {
      fnError = e.name;
    }
    let symbolError = null;
    try {
      structuredClone(Symbol("s"));
    } catch (e) {
      symbolError = e.name;
    }
    return Response.json({
      notSame: copy !== original,
      dateIsDate: copy.date instanceof Date,
      time: copy.date.getTime(),
      mapValue: copy.map.get("k").v,
      mapIsCopy: copy.map.get("k") !== original.map.get("k"),
      setSize: copy.set.size,
      bytes: Array.from(copy.bytes),
      bytesType: copy.bytes.constructor.name,
      regexp: copy.regexp.source + "/" + copy.regexp.flags,
      big: copy.big.toString(),
      cycle: copy.self === copy,
      originalUntouched: original.nested.arr[1].deep,
      fnError,
      symbolError,
    });
  },
};
