(function (ops, internals) {
  "use strict";

  // KVNamespace: Cloudflare's validation and error texts here, bytes in the host's store.
  const MAX_KEY_BYTES = 512;
  const MAX_VALUE_BYTES = 25 * 1024 * 1024;
  const MAX_METADATA_BYTES = 1024;
  const MAX_BULK_KEYS = 100;
  const MAX_LIST_LIMIT = 1000;
  const MIN_TTL = 60;
  const MIN_CACHE_TTL = 30;
  const TYPES = ["text", "arrayBuffer", "json", "stream"];

  const { hostCall, utf8Encode, utf8Decode } = internals;
  const byteLength = (s) => utf8Encode(s).byteLength;
  const failed = (op, status, text) => new Error(`KV ${op} failed: ${status} ${text}`);

  function checkKey(key, op) {
    key = String(key);
    if (key === "") throw new TypeError("Key name cannot be empty.");
    if (key === "." || key === "..") throw new TypeError(`"${key}" is not allowed as a key name.`);
    const n = byteLength(key);
    if (n > MAX_KEY_BYTES) {
      throw failed(op, 414, `UTF-8 encoded length of ${n} exceeds key length limit of ${MAX_KEY_BYTES}.`);
    }
    return key;
  }

  // WebIDL `long`-style conversion of the expiration options, as workerd applies it.
  function toInt32(value) {
    const n = Math.trunc(Number(value));
    if (!Number.isFinite(n) || n < -2147483648 || n > 2147483647) {
      throw new TypeError("Value out of range. Must be between -2147483648 and 2147483647 (inclusive).");
    }
    return n;
  }

  function readOptions(typeOrOptions, op) {
    let type = "text";
    let cacheTtl;
    if (typeof typeOrOptions === "string") {
      type = typeOrOptions;
    } else if (typeOrOptions !== null && typeof typeOrOptions === "object") {
      if (typeOrOptions.type !== undefined) type = String(typeOrOptions.type);
      cacheTtl = typeOrOptions.cacheTtl;
    } else if (typeOrOptions !== undefined && typeOrOptions !== null) {
      type = String(typeOrOptions);
    }
    if (cacheTtl !== undefined && Number(cacheTtl) < MIN_CACHE_TTL) {
      throw failed(op, 400, `Invalid cache_ttl of ${cacheTtl}. Cache TTL must be at least ${MIN_CACHE_TTL}.`);
    }
    return type;
  }

  // `bytes` is a host body handle of `length` bytes for type "stream" (see getEntry).
  function decodeValue(bytes, type, length) {
    switch (type) {
      case "text":
        return utf8Decode(bytes);
      case "json":
        return JSON.parse(utf8Decode(bytes));
      case "arrayBuffer":
        // The op hands over a fresh Uint8Array that owns its whole buffer.
        return bytes.buffer;
      case "stream":
        // Only single gets ask for streams; the op then answers with a host body handle.
        return internals.hostBodyStream(bytes, length);
      default:
        throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".');
    }
  }

  // A single key's entry: [bytes, metadata, expiration], or for type "stream" [bodyHandle,
  // metadata, expiration, length], the value left with the host for the stream to pull.
  const getEntry = (binding, key, type) => hostCall(ops.op_kv_get, binding, key, type === "stream");

  const parseMetadata = (m) => (m === null ? null : JSON.parse(m));

  async function getBulk(binding, keys, typeOrOptions, withMetadata) {
    const type = readOptions(typeOrOptions, "GET_BULK");
    keys = Array.from(keys, (k) => checkKey(k, "GET_BULK"));
    if (keys.length === 0 || keys.length > MAX_BULK_KEYS || (type !== "text" && type !== "json")) {
      throw failed("GET_BULK", 400, "Bad Request");
    }
    const entries = await hostCall(ops.op_kv_get_many, binding, keys);
    const out = new Map();
    for (let i = 0; i < keys.length; i++) {
      const entry = entries[i];
      if (entry === null) {
        out.set(keys[i], null);
        continue;
      }
      let value;
      try {
        value = decodeValue(entry[0], type);
      } catch {
        throw failed("GET_BULK", 400, "Bad Request");
      }
      out.set(keys[i], withMetadata ? { value, metadata: parseMetadata(entry[1]) } : value);
    }
    return out;
  }

  // A put's value for `callWithBody` (body.js): bytes in hand, or a stream the host reads a chunk
  // at a time and counts against the limit itself, so a streamed value never gathers in the heap.
  function putValue(value) {
    if (internals.isReadableStream(value)) {
      // The text readAllBytes gave when it read streamed values here.
      if (internals.streamIsLocked(value)) throw new TypeError("This ReadableStream is currently locked to a reader.");
      return { bytes: null, stream: value, length: null };
    }
    return { bytes: valueBytes(value), stream: null };
  }

  function valueBytes(value) {
    if (typeof value === "string") return utf8Encode(value);
    if (internals.isBufferSource(value)) return internals.copyBytes(value);
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      return utf8Encode(String(value));
    }
    throw new TypeError("KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.");
  }

  function expirationOf(options) {
    const now = Math.floor(Date.now() / 1000);
    if (options.expirationTtl !== undefined && options.expirationTtl !== null) {
      const ttl = toInt32(options.expirationTtl);
      if (ttl <= 0) throw failed("PUT", 400, `Invalid expiration_ttl of ${ttl}. Please specify integer greater than 0.`);
      if (ttl < MIN_TTL) {
        throw failed("PUT", 400, `Invalid expiration_ttl of ${ttl}. Expiration TTL must be at least ${MIN_TTL}.`);
      }
      return now + ttl;
    }
    if (options.expiration !== undefined && options.expiration !== null) {
      const at = toInt32(options.expiration);
      if (at <= now) {
        throw failed("PUT", 400, `Invalid expiration of ${at}. Please specify integer greater than the current number of seconds since the UNIX epoch.`);
      }
      if (at < now + MIN_TTL) {
        throw failed("PUT", 400, `Invalid expiration of ${at}. Expiration times must be at least ${MIN_TTL} seconds in the future.`);
      }
      return at;
    }
    return null;
  }

  function metadataOf(options) {
    if (options.metadata === undefined) return null;
    const json = JSON.stringify(options.metadata);
    if (json === undefined) return null;
    const n = byteLength(json);
    if (n > MAX_METADATA_BYTES) {
      throw failed("PUT", 413, `Metadata length of ${n} exceeds limit of ${MAX_METADATA_BYTES}.`);
    }
    return json;
  }

  class KVNamespace {
    #binding;

    constructor(token, binding) {
      if (token !== internals.illegalConstructor) throw new TypeError("Illegal constructor");
      this.#binding = binding;
    }

    async get(key, typeOrOptions) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      if (Array.isArray(key)) return getBulk(this.#binding, key, typeOrOptions, false);
      key = checkKey(key, "GET");
      const type = readOptions(typeOrOptions, "GET");
      const entry = await getEntry(this.#binding, key, type);
      return entry === null ? null : decodeValue(entry[0], type, entry[3]);
    }

    async getWithMetadata(key, typeOrOptions) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      if (Array.isArray(key)) return getBulk(this.#binding, key, typeOrOptions, true);
      key = checkKey(key, "GET");
      const type = readOptions(typeOrOptions, "GET");
      const entry = await getEntry(this.#binding, key, type);
      if (entry === null) return { value: null, metadata: null, cacheStatus: null };
      return { value: decodeValue(entry[0], type, entry[3]), metadata: parseMetadata(entry[1]), cacheStatus: null };
    }

    async put(key, value, options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      key = checkKey(key, "PUT");
      const body = putValue(value);
      options = options ?? {};
      const expiration = expirationOf(options);
      const metadata = metadataOf(options);
      // A streamed value is checked by the op as it arrives, with this same message.
      if (body.stream === null && body.bytes.byteLength > MAX_VALUE_BYTES) {
        throw failed("PUT", 413, `Value length of ${body.bytes.byteLength} exceeds limit of ${MAX_VALUE_BYTES}.`);
      }
      await internals.callWithBody(ops.op_kv_put, [this.#binding, key, expiration, metadata], body);
    }

    async delete(key) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      key = checkKey(key, "DELETE");
      await hostCall(ops.op_kv_delete, this.#binding, key);
    }

    async list(options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      options = options ?? {};
      const prefix = options.prefix === undefined || options.prefix === null ? "" : String(options.prefix);
      const prefixBytes = byteLength(prefix);
      if (prefixBytes > MAX_KEY_BYTES) {
        throw failed("GET", 414, `UTF-8 encoded length of ${prefixBytes} exceeds key length limit of ${MAX_KEY_BYTES}.`);
      }
      let limit = MAX_LIST_LIMIT;
      if (options.limit !== undefined && options.limit !== null) {
        const n = Math.trunc(Number(options.limit));
        if (n > MAX_LIST_LIMIT) {
          throw failed("GET", 400, `Invalid key_count_limit of ${n}. Please specify an integer less than ${MAX_LIST_LIMIT}.`);
        }
        // workerd drops a zero or negative limit rather than refusing it.
        if (n > 0) limit = n;
      }
      const cursor = options.cursor === undefined || options.cursor === null ? null : String(options.cursor);
      const flat = await hostCall(ops.op_kv_list, this.#binding, prefix, limit, cursor);
      const keys = [];
      for (let i = 2; i < flat.length; i += 3) {
        const key = { name: flat[i] };
        if (flat[i + 1] !== null) key.expiration = flat[i + 1];
        if (flat[i + 2] !== null) key.metadata = JSON.parse(flat[i + 2]);
        keys.push(key);
      }
      const result = { keys, list_complete: flat[0] };
      if (!flat[0] && flat[1] !== null) result.cursor = flat[1];
      result.cacheStatus = null;
      return result;
    }
  }
  internals.setToStringTag(KVNamespace, "KvNamespace");

  internals.envKinds.kv = (index) => new KVNamespace(internals.illegalConstructor, Number(index));
})
