// TextEncoder / TextDecoder: UTF-8 bytes, BOM handling, fatal mode and streaming.
export default {
  async fetch() {
    const enc = new TextEncoder();
    const euro = Array.from(enc.encode("€"));
    const target = new Uint8Array(4);
    const into = enc.encodeInto("aé€", target);
    const dec = new TextDecoder();
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]);
    const invalid = new Uint8Array([0x61, 0xff, 0x62]);
    let fatalError = null;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(invalid);
    } catch (e) {
      fatalError = e.name;
    }
    // A multi-byte character split across chunks, decoded with { stream: true }.
    const s = new TextDecoder();
    const streamed = s.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + s.decode(new Uint8Array([0xac]));
    return Response.json({
      encoding: enc.encoding,
      decoderEncoding: new TextDecoder("UTF8").encoding,
      euro,
      into: { read: into.read, written: into.written, bytes: Array.from(target) },
      bomStripped: dec.decode(bom),
      bomKept: new TextDecoder("utf-8", { ignoreBOM: true }).decode(bom).length,
      replacement: dec.decode(invalid),
      fatal: new TextDecoder("utf-8", { fatal: true }).fatal,
      fatalError,
      streamed,
      empty: dec.decode(),
      roundTrip: dec.decode(enc.encode("日本語 ✓ 😀")),
    });
  },
};
