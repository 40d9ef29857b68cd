(function (ops, internals) {
  "use strict";

  const { defineGlobal, illegalInvocation, setToStringTag, DOMException } = internals;

  function isBufferSource(value) {
    return value instanceof ArrayBuffer || ArrayBuffer.isView(value) ||
      (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer);
  }
  internals.isBufferSource = isBufferSource;

  // Copies any BufferSource into a fresh Uint8Array.
  function copyBytes(source) {
    if (ArrayBuffer.isView(source)) {
      return new Uint8Array(source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength));
    }
    return new Uint8Array(source.slice(0));
  }
  internals.copyBytes = copyBytes;

  // A Uint8Array view over any BufferSource without copying.
  function viewBytes(source) {
    if (source instanceof Uint8Array) return source;
    if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return new Uint8Array(source);
  }
  internals.viewBytes = viewBytes;

  const utf8Encode = (str) => ops.op_utf8_encode(str);
  const utf8Decode = (bytes) => ops.op_utf8_decode(bytes, false, true);
  internals.utf8Encode = utf8Encode;
  internals.utf8Decode = utf8Decode;

  class TextEncoder {
    #brand;
    get encoding() {
      if (!(#brand in this)) throw illegalInvocation();
      return "utf-8";
    }
    encode(input = "") {
      if (!(#brand in this)) throw illegalInvocation();
      return utf8Encode(String(input));
    }
    encodeInto(source, destination) {
      if (!(#brand in this)) throw illegalInvocation();
      if (!(destination instanceof Uint8Array)) {
        throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
      }
      const [read, written] = ops.op_utf8_encode_into(String(source), destination);
      return { read, written };
    }
  }
  setToStringTag(TextEncoder, "TextEncoder");

  const labels = new Map();
  for (const label of ["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"]) {
    labels.set(label, "utf-8");
  }
  for (const label of ["csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"]) {
    labels.set(label, "utf-16le");
  }
  for (const label of ["unicodefffe", "utf-16be"]) labels.set(label, "utf-16be");
  for (const label of [
    "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
    "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252",
    "x-cp1252",
  ]) {
    labels.set(label, "windows-1252");
  }

  function resolveLabel(label) {
    return labels.get(String(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "").toLowerCase());
  }
  internals.resolveEncodingLabel = resolveLabel;

  // windows-1252 differs from Latin-1 only in 0x80-0x9F.
  const cp1252High = [
    0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
    0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
  ];

  function decodeSingleByte(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 8192) {
      const chunk = bytes.subarray(i, i + 8192);
      out += String.fromCharCode(...Array.from(chunk, (b) => (b >= 0x80 && b < 0xa0 ? cp1252High[b - 0x80] : b)));
    }
    return out;
  }

  // Length of the trailing bytes that start a UTF-8 sequence which is valid so far but not
  // complete; a streaming decode keeps them for the next chunk.
  function incompleteUtf8Tail(bytes) {
    const len = bytes.length;
    for (let back = 1; back <= Math.min(3, len); back++) {
      const lead = bytes[len - back];
      if ((lead & 0xc0) === 0x80) continue;
      let need;
      if (lead >= 0xc2 && lead <= 0xdf) need = 2;
      else if (lead >= 0xe0 && lead <= 0xef) need = 3;
      else if (lead >= 0xf0 && lead <= 0xf4) need = 4;
      else return 0;
      if (back >= need) return 0;
      if (back >= 2) {
        const second = bytes[len - back + 1];
        const lo = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
        const hi = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
        if (second < lo || second > hi) return 0;
      }
      return back;
    }
    return 0;
  }

  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    #pending = null;
    #bomHandled = false;

    constructor(label = "utf-8", options = undefined) {
      if (options != null && typeof options !== "object") {
        throw new TypeError("The 'options' argument must be an object");
      }
      const encoding = resolveLabel(label);
      if (encoding === undefined) {
        throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided ('${String(label)}') is invalid.`);
      }
      this.#encoding = encoding;
      this.#fatal = Boolean(options?.fatal);
      this.#ignoreBOM = Boolean(options?.ignoreBOM);
    }

    get encoding() {
      if (!(#encoding in this)) throw illegalInvocation();
      return this.#encoding;
    }
    get fatal() {
      if (!(#encoding in this)) throw illegalInvocation();
      return this.#fatal;
    }
    get ignoreBOM() {
      if (!(#encoding in this)) throw illegalInvocation();
      return this.#ignoreBOM;
    }

    decode(input = undefined, options = undefined) {
      if (!(#encoding in this)) throw illegalInvocation();
      if (input !== undefined && !isBufferSource(input)) {
        throw new TypeError("Failed to execute 'decode' on 'TextDecoder': parameter 1 is not of type 'ArrayBuffer or ArrayBufferView'.");
      }
      const stream = Boolean(options?.stream);
      let bytes = input === undefined ? new Uint8Array(0) : viewBytes(input);
      if (this.#pending) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = null;
      }
      let keep = 0;
      if (stream) {
        if (this.#encoding === "utf-8") keep = incompleteUtf8Tail(bytes);
        else if (this.#encoding !== "windows-1252") keep = bytes.length % 2;
        // Until three bytes have arrived a UTF-8 BOM cannot be told apart from a prefix of it.
        if (this.#encoding === "utf-8" && !this.#bomHandled && bytes.length < 3 &&
            bytes.every((b, i) => b === [0xef, 0xbb, 0xbf][i])) {
          keep = bytes.length;
        }
      }
      if (keep) {
        this.#pending = bytes.slice(bytes.length - keep);
        bytes = bytes.subarray(0, bytes.length - keep);
      }
      let text = "";
      if (bytes.length) {
        text = this.#decodeBytes(bytes, this.#ignoreBOM || this.#bomHandled);
        this.#bomHandled = true;
      }
      if (!stream) {
        this.#bomHandled = false;
        this.#pending = null;
      }
      return text;
    }

    #decodeBytes(bytes, keepBOM) {
      switch (this.#encoding) {
        case "utf-8":
          return ops.op_utf8_decode(bytes, this.#fatal, keepBOM);
        case "windows-1252":
          return decodeSingleByte(bytes);
        default:
          return this.#decodeUtf16(bytes, keepBOM);
      }
    }

    #decodeUtf16(bytes, keepBOM) {
      const bigEndian = this.#encoding === "utf-16be";
      const units = [];
      const even = bytes.length - (bytes.length % 2);
      for (let i = 0; i < even; i += 2) {
        units.push(bigEndian ? (bytes[i] << 8) | bytes[i + 1] : bytes[i] | (bytes[i + 1] << 8));
      }
      if (!keepBOM && units[0] === 0xfeff) units.shift();
      let text = "";
      for (let i = 0; i < units.length; i += 8192) text += String.fromCharCode(...units.slice(i, i + 8192));
      const truncated = bytes.length % 2 === 1;
      if (this.#fatal && (truncated || !text.isWellFormed())) {
        throw new TypeError(`The encoded data was not valid for encoding ${this.#encoding}`);
      }
      text = text.toWellFormed();
      return truncated ? text + "\uFFFD" : text;
    }
  }
  setToStringTag(TextDecoder, "TextDecoder");

  // Forgiving base64 (HTML standard): ASCII whitespace is ignored and padding optional.
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const decodeTable = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) decodeTable[alphabet.charCodeAt(i)] = i;

  function atob(data) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'atob': 1 argument required, but only 0 present.");
    let str = String(data).replace(/[\t\n\f\r ]/g, "");
    if (str.length % 4 === 0) str = str.replace(/==?$/, "");
    const invalid = () => new DOMException("The string to be decoded is not correctly encoded.", "InvalidCharacterError");
    if (str.length % 4 === 1) throw invalid();
    let out = "";
    let buffer = 0;
    let bits = 0;
    for (let i = 0; i < str.length; i++) {
      const code = str.charCodeAt(i);
      const value = code < 128 ? decodeTable[code] : -1;
      if (value < 0) throw invalid();
      buffer = (buffer << 6) | value;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += String.fromCharCode((buffer >> bits) & 0xff);
      }
    }
    return out;
  }

  function btoa(data) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'btoa': 1 argument required, but only 0 present.");
    const str = String(data);
    let out = "";
    for (let i = 0; i < str.length; i += 3) {
      const a = str.charCodeAt(i);
      const b = i + 1 < str.length ? str.charCodeAt(i + 1) : 0;
      const c = i + 2 < str.length ? str.charCodeAt(i + 2) : 0;
      if (a > 255 || b > 255 || c > 255) {
        throw new DOMException("Cannot encode non-Latin1 characters.", "InvalidCharacterError");
      }
      const n = (a << 16) | (b << 8) | c;
      out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] +
        (i + 1 < str.length ? alphabet[(n >> 6) & 63] : "=") +
        (i + 2 < str.length ? alphabet[n & 63] : "=");
    }
    return out;
  }

  defineGlobal("TextEncoder", TextEncoder);
  defineGlobal("TextDecoder", TextDecoder);
  defineGlobal("atob", atob);
  defineGlobal("btoa", btoa);
  internals.TextDecoder = TextDecoder;
})
