(function (ops, internals) {
  "use strict";

  // R2Bucket, R2Object, R2ObjectBody, R2MultipartUpload: Cloudflare's API, validation and error
  // texts here; objects, bodies and conditionals are the host store's (r2.rs). Bodies stream in
  // both directions through body.js.
  const MAX_KEY_BYTES = 1024;
  const MAX_METADATA_BYTES = 8192;
  const MAX_LIST_LIMIT = 1000;
  const MAX_DELETE_KEYS = 1000;
  const MAX_PART_NUMBER = 10000;
  const STORAGE_CLASSES = ["Standard", "InfrequentAccess"];
  const HASHES = [["md5", "MD5", 16], ["sha1", "SHA-1", 20], ["sha256", "SHA-256", 32], ["sha384", "SHA-384", 48], ["sha512", "SHA-512", 64]];
  const HTTP_FIELDS = [
    ["contentType", "content-type"],
    ["contentLanguage", "content-language"],
    ["contentDisposition", "content-disposition"],
    ["contentEncoding", "content-encoding"],
    ["cacheControl", "cache-control"],
  ];

  const { hostCall, utf8Encode, utf8Decode, illegalConstructor } = internals;
  const HeadersClass = globalThis.Headers;
  const BlobClass = globalThis.Blob;
  const byteLength = (s) => utf8Encode(s).byteLength;
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (s) => {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
    return out;
  };

  // Errors the backend reports read "<method>: <text> (<code>)".
  const r2Error = (method, text) => new Error(`${method}: ${text}`);
  const hostError = (method) => (err) => r2Error(method, err?.message ?? String(err));
  async function call(method, op, ...args) {
    try {
      return await hostCall(op, ...args);
    } catch (err) {
      throw hostError(method)(err);
    }
  }

  function checkKey(key, method) {
    key = String(key);
    if (byteLength(key) > MAX_KEY_BYTES) throw r2Error(method, "The specified object name is not valid. (10020)");
    return key;
  }

  // ---------------------------------------------------------------- options

  // `etagMatches`/`etagDoesNotMatch` as given in an R2Conditional object.
  function etagsOf(value) {
    const list = typeof value === "string" ? [value] : Array.from(value, String);
    for (const etag of list) {
      if (etag.startsWith('"')) throw new TypeError(`Conditional ETag should not be wrapped in quotes (${etag}).`);
    }
    return list;
  }

  // An If-Match / If-None-Match header: `*`, or a list of quoted (or W/-prefixed) etags.
  function etagHeader(value) {
    return value.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
      if (s === "*") return "*";
      const weak = s.startsWith("W/");
      if (weak) s = s.slice(2);
      if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
      return weak ? `W/${s}` : s;
    });
  }

  function timeOf(value, what) {
    const t = value instanceof Date ? value.getTime() : typeof value === "number" ? value : NaN;
    if (Number.isNaN(t)) throw new TypeError(`${what} must be a Date.`);
    return t;
  }

  function conditionalOf(c) {
    const out = {};
    if (c instanceof HeadersClass) {
      const ifMatch = c.get("if-match");
      const ifNoneMatch = c.get("if-none-match");
      const ifModifiedSince = c.get("if-modified-since");
      const ifUnmodifiedSince = c.get("if-unmodified-since");
      if (ifMatch !== null) out.etagMatches = etagHeader(ifMatch);
      if (ifNoneMatch !== null) out.etagDoesNotMatch = etagHeader(ifNoneMatch);
      if (ifModifiedSince !== null && !Number.isNaN(Date.parse(ifModifiedSince))) out.uploadedAfter = Date.parse(ifModifiedSince);
      if (ifUnmodifiedSince !== null && !Number.isNaN(Date.parse(ifUnmodifiedSince))) out.uploadedBefore = Date.parse(ifUnmodifiedSince);
      // HTTP dates carry whole seconds.
      out.secondsGranularity = true;
      return out;
    }
    if (typeof c !== "object") throw new TypeError("onlyIf must be an R2Conditional object or a Headers object.");
    if (c.etagMatches !== undefined && c.etagMatches !== null) out.etagMatches = etagsOf(c.etagMatches);
    if (c.etagDoesNotMatch !== undefined && c.etagDoesNotMatch !== null) out.etagDoesNotMatch = etagsOf(c.etagDoesNotMatch);
    if (c.uploadedBefore !== undefined && c.uploadedBefore !== null) out.uploadedBefore = timeOf(c.uploadedBefore, "uploadedBefore");
    if (c.uploadedAfter !== undefined && c.uploadedAfter !== null) out.uploadedAfter = timeOf(c.uploadedAfter, "uploadedAfter");
    out.secondsGranularity = Boolean(c.secondsGranularity);
    return out;
  }

  function nonNegative(value, message) {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new TypeError(`${message.split(" (")[0]} must be a number.`);
    if (n < 0) throw new RangeError(message.replace("%", String(value)));
    return Math.trunc(n);
  }

  function rangeOf(range) {
    if (range instanceof HeadersClass) {
      const header = range.get("range");
      if (header === null) return undefined;
      const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
      if (m === null || (m[1] === "" && m[2] === "")) throw new RangeError(`Invalid range header: ${header}`);
      if (m[1] === "") return { suffix: Number(m[2]) };
      const offset = Number(m[1]);
      if (m[2] === "") return { offset };
      const last = Number(m[2]);
      if (last < offset) throw new RangeError(`Invalid range header: ${header}`);
      return { offset, length: last - offset + 1 };
    }
    if (typeof range !== "object") throw new TypeError("range must be an R2Range object or a Headers object.");
    const out = {};
    if (range.suffix !== undefined) {
      if (range.offset !== undefined) throw new TypeError("Suffix is incompatible with offset.");
      if (range.length !== undefined) throw new TypeError("Suffix is incompatible with length.");
      out.suffix = nonNegative(range.suffix, "Invalid suffix. Suffix (%) must be greater than or equal to 0.");
      return out;
    }
    if (range.offset !== undefined) {
      out.offset = nonNegative(range.offset, "Invalid range. Starting offset (%) must be greater than or equal to 0.");
    }
    if (range.length !== undefined) {
      out.length = nonNegative(range.length, "Invalid range. Length (%) must be greater than or equal to 0.");
    }
    return out;
  }

  function httpMetadataOf(h) {
    const out = {};
    if (h === undefined || h === null) return out;
    if (h instanceof HeadersClass) {
      for (const [field, header] of HTTP_FIELDS) {
        const v = h.get(header);
        if (v !== null) out[field] = v;
      }
      const expires = h.get("expires");
      if (expires !== null && !Number.isNaN(Date.parse(expires))) out.cacheExpiry = Date.parse(expires);
      return out;
    }
    if (typeof h !== "object") throw new TypeError("httpMetadata must be an object or a Headers object.");
    for (const [field] of HTTP_FIELDS) {
      if (h[field] !== undefined && h[field] !== null) out[field] = String(h[field]);
    }
    if (h.cacheExpiry !== undefined && h.cacheExpiry !== null) out.cacheExpiry = timeOf(h.cacheExpiry, "cacheExpiry");
    return out;
  }

  function customMetadataOf(m) {
    const out = {};
    if (m === undefined || m === null) return out;
    if (typeof m !== "object") throw new TypeError("customMetadata must be an object of strings.");
    for (const k of Object.keys(m)) out[k] = String(m[k]);
    return out;
  }

  function checkMetadataSize(method, http, custom) {
    let n = 0;
    for (const k of Object.keys(custom)) n += byteLength(k) + byteLength(custom[k]);
    for (const [field] of HTTP_FIELDS) if (http[field] !== undefined) n += byteLength(http[field]);
    if (n > MAX_METADATA_BYTES) throw r2Error(method, "Your metadata headers exceed the maximum allowed metadata size. (10012)");
  }

  function storageClassOf(method, value) {
    if (value === undefined || value === null) return "Standard";
    const c = String(value);
    if (!STORAGE_CLASSES.includes(c)) throw r2Error(method, "The storage class you specified is not valid.");
    return c;
  }

  function checksumsOf(options) {
    const given = HASHES.filter(([k]) => options[k] !== undefined && options[k] !== null);
    if (given.length > 1) throw new TypeError("You cannot specify multiple hashing algorithms.");
    const out = {};
    for (const [k, name, n] of given) {
      const v = options[k];
      if (typeof v === "string") {
        if (v.length !== n * 2) throw new TypeError(`${name} is ${n * 2} hex characters, not ${v.length}`);
        if (!/^[0-9a-fA-F]*$/.test(v)) throw new TypeError(`Provided ${name} wasn't a valid hex string`);
        out[k] = v.toLowerCase();
      } else if (internals.isBufferSource(v)) {
        const bytes = internals.copyBytes(v);
        if (bytes.byteLength !== n) throw new TypeError(`${name} is ${n} bytes, not ${bytes.byteLength}`);
        out[k] = hex(bytes);
      } else {
        throw new TypeError(`${name} must be an ArrayBuffer or a hex string.`);
      }
    }
    return out;
  }

  // SSE-C: the key is checked as Cloudflare does, but this runtime's buckets do not encrypt, so
  // a well-formed key is refused rather than silently ignored.
  function checkSsecKey(method, key) {
    if (key === undefined || key === null) return;
    let n;
    if (typeof key === "string") n = /^[0-9a-fA-F]*$/.test(key) && key.length === 64 ? 32 : -1;
    else if (internals.isBufferSource(key)) n = internals.copyBytes(key).byteLength;
    else n = -1;
    if (n !== 32) throw new Error("SSE-C Key must be 32 bytes in length");
    throw r2Error(method, "SSE-C keys are not supported by this bucket.");
  }

  // A put/uploadPart value: bytes in hand, or a stream of a known length. Blobs are read later
  // (asynchronously) by bodyBytes.
  function bodyOf(value, method, className) {
    if (value === null || value === undefined) return { bytes: new Uint8Array(0), stream: null, length: 0 };
    if (typeof value === "string") {
      const bytes = utf8Encode(value);
      return { bytes, stream: null, length: bytes.byteLength };
    }
    if (internals.isBufferSource(value)) {
      const bytes = internals.copyBytes(value);
      return { bytes, stream: null, length: bytes.byteLength };
    }
    if (value instanceof BlobClass) return { blob: value, bytes: null, stream: null, length: value.size };
    if (internals.isReadableStream(value)) {
      const length = internals.streamLength(value);
      if (length === undefined) {
        throw new TypeError("Provided readable stream must have a known length (request/response body or readable half of FixedLengthStream)");
      }
      if (internals.streamIsDisturbed(value) || internals.streamIsLocked(value)) {
        throw new TypeError("This ReadableStream is disturbed (has already been read from), and cannot be used as a body.");
      }
      return { bytes: null, stream: value, length };
    }
    throw new TypeError(`Failed to execute '${method}' on '${className}': parameter 2 is not of type 'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.`);
  }

  async function readBlob(body) {
    if (body.blob !== undefined) {
      body.bytes = new Uint8Array(await body.blob.arrayBuffer());
      body.length = body.bytes.byteLength;
    }
    return body;
  }

  // ---------------------------------------------------------------- objects

  class R2Checksums {
    #hex;
    constructor(token, hexes) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#hex = hexes;
      for (const [k] of HASHES) {
        if (hexes[k] !== undefined) {
          Object.defineProperty(this, k, { value: unhex(hexes[k]).buffer, enumerable: true });
        }
      }
    }
    toJSON() {
      if (!(#hex in this)) throw internals.illegalInvocation();
      const out = {};
      for (const [k] of HASHES) if (this.#hex[k] !== undefined) out[k] = this.#hex[k];
      return out;
    }
  }
  internals.setToStringTag(R2Checksums, "R2Checksums");

  function httpMetadataFromJson(h) {
    const out = {};
    for (const [field] of HTTP_FIELDS) if (typeof h?.[field] === "string") out[field] = h[field];
    if (typeof h?.cacheExpiry === "number") out.cacheExpiry = new Date(h.cacheExpiry);
    return out;
  }

  class R2Object {
    #http;
    constructor(token, data) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      const http = httpMetadataFromJson(data.httpMetadata);
      this.#http = http;
      const props = {
        key: data.key,
        version: data.version,
        size: data.size,
        etag: data.etag,
        httpEtag: `"${data.etag}"`,
        uploaded: new Date(data.uploaded),
        httpMetadata: http,
        customMetadata: { ...(data.customMetadata ?? {}) },
        checksums: new R2Checksums(illegalConstructor, data.checksums ?? {}),
        storageClass: data.storageClass,
      };
      if (data.range !== undefined) props.range = data.range;
      for (const k of Object.keys(props)) {
        Object.defineProperty(this, k, { value: props[k], enumerable: true });
      }
    }
    writeHttpMetadata(headers) {
      if (!(#http in this)) throw internals.illegalInvocation();
      if (!(headers instanceof HeadersClass)) {
        throw new TypeError("Failed to execute 'writeHttpMetadata' on 'R2Object': parameter 1 is not of type 'Headers'.");
      }
      for (const [field, header] of HTTP_FIELDS) {
        if (this.#http[field] !== undefined) headers.set(header, this.#http[field]);
      }
      if (this.#http.cacheExpiry !== undefined) headers.set("expires", this.#http.cacheExpiry.toUTCString());
    }
  }
  internals.setToStringTag(R2Object, "R2Object");

  const bodyUsedError = () =>
    new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");

  class R2ObjectBody extends R2Object {
    #body;
    constructor(token, data, handle, length) {
      super(token, data);
      this.#body = internals.hostBodyStream(handle, length);
    }
    get body() {
      if (!(#body in this)) throw internals.illegalInvocation();
      return this.#body;
    }
    get bodyUsed() {
      if (!(#body in this)) throw internals.illegalInvocation();
      return internals.streamIsDisturbed(this.#body);
    }
    async #bytes() {
      if (internals.streamIsDisturbed(this.#body)) throw bodyUsedError();
      return internals.readAllBytes(this.#body);
    }
    async arrayBuffer() {
      if (!(#body in this)) throw internals.illegalInvocation();
      const bytes = await this.#bytes();
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
    }
    async bytes() {
      if (!(#body in this)) throw internals.illegalInvocation();
      return this.#bytes();
    }
    async text() {
      if (!(#body in this)) throw internals.illegalInvocation();
      return utf8Decode(await this.#bytes());
    }
    async json() {
      if (!(#body in this)) throw internals.illegalInvocation();
      return JSON.parse(utf8Decode(await this.#bytes()));
    }
    async blob() {
      if (!(#body in this)) throw internals.illegalInvocation();
      const bytes = await this.#bytes();
      return new BlobClass([bytes], { type: this.httpMetadata.contentType ?? "" });
    }
  }
  internals.setToStringTag(R2ObjectBody, "R2ObjectBody");

  const objectOf = (json) => new R2Object(illegalConstructor, JSON.parse(json));

  // ---------------------------------------------------------------- multipart

  class R2MultipartUpload {
    #binding;
    constructor(token, binding, key, uploadId) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#binding = binding;
      Object.defineProperty(this, "key", { value: key, enumerable: true });
      Object.defineProperty(this, "uploadId", { value: uploadId, enumerable: true });
    }

    async uploadPart(partNumber, value, options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      const n = Number(partNumber);
      if (!Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER) {
        throw new TypeError(`Part number must be between 1 and ${MAX_PART_NUMBER} (inclusive). Actual value was: ${partNumber}`);
      }
      const body = await readBlob(bodyOf(value, "uploadPart", "R2MultipartUpload"));
      checkSsecKey("uploadPart", options?.ssecKey);
      const etag = await internals.callWithBody(
        ops.op_r2_upload_part,
        [this.#binding, this.key, this.uploadId, n, body.length],
        body,
        hostError("uploadPart"),
      );
      return { partNumber: n, etag };
    }

    async abort() {
      if (!(#binding in this)) throw internals.illegalInvocation();
      await call("abortMultipartUpload", ops.op_r2_abort_multipart, this.#binding, this.key, this.uploadId);
    }

    async complete(uploadedParts) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      if (uploadedParts === null || typeof uploadedParts !== "object" || typeof uploadedParts[Symbol.iterator] !== "function") {
        throw new TypeError("Failed to execute 'complete' on 'R2MultipartUpload': parameter 1 is not of type 'Array'.");
      }
      const parts = Array.from(uploadedParts, (p) => ({ partNumber: Number(p?.partNumber), etag: String(p?.etag) }));
      const json = await call("completeMultipartUpload", ops.op_r2_complete_multipart, this.#binding, this.key, this.uploadId, JSON.stringify(parts));
      return objectOf(json);
    }
  }
  internals.setToStringTag(R2MultipartUpload, "R2MultipartUpload");

  // ---------------------------------------------------------------- the bucket

  class R2Bucket {
    #binding;

    constructor(token, binding) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#binding = binding;
    }

    async head(key) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      key = checkKey(key, "head");
      const json = await call("head", ops.op_r2_head, this.#binding, key);
      return json === null ? null : objectOf(json);
    }

    async get(key, options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      key = checkKey(key, "get");
      const opts = {};
      if (options !== undefined && options !== null) {
        if (options.onlyIf !== undefined && options.onlyIf !== null) opts.onlyIf = conditionalOf(options.onlyIf);
        if (options.range !== undefined && options.range !== null) {
          const range = rangeOf(options.range);
          if (range !== undefined) opts.range = range;
        }
        checkSsecKey("get", options.ssecKey);
      }
      const r = await call("get", ops.op_r2_get, this.#binding, key, JSON.stringify(opts));
      if (r === null) return null;
      const data = JSON.parse(r[0]);
      if (r.length === 1) return new R2Object(illegalConstructor, data);
      data.range = { offset: r[1], length: r[2] };
      return new R2ObjectBody(illegalConstructor, data, r[3], r[2]);
    }

    async put(key, value, options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      key = checkKey(key, "put");
      const body = bodyOf(value, "put", "R2Bucket");
      options = options ?? {};
      const httpMetadata = httpMetadataOf(options.httpMetadata);
      const customMetadata = customMetadataOf(options.customMetadata);
      const opts = {
        httpMetadata,
        customMetadata,
        checksums: checksumsOf(options),
        storageClass: storageClassOf("put", options.storageClass),
      };
      if (options.onlyIf !== undefined && options.onlyIf !== null) opts.onlyIf = conditionalOf(options.onlyIf);
      checkSsecKey("put", options.ssecKey);
      checkMetadataSize("put", httpMetadata, customMetadata);
      await readBlob(body);
      opts.size = body.length;
      const json = await internals.callWithBody(ops.op_r2_put, [this.#binding, key, JSON.stringify(opts)], body, hostError("put"));
      return json === null ? null : objectOf(json);
    }

    async delete(keys) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      const list = Array.isArray(keys) ? keys.map((k) => checkKey(k, "delete")) : [checkKey(keys, "delete")];
      if (list.length > MAX_DELETE_KEYS) {
        throw r2Error("delete", `You can delete at most ${MAX_DELETE_KEYS} keys per call, not ${list.length}.`);
      }
      if (list.length === 0) return;
      await call("delete", ops.op_r2_delete, this.#binding, list);
    }

    async list(options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      options = options ?? {};
      const opts = { limit: MAX_LIST_LIMIT };
      if (options.limit !== undefined && options.limit !== null) {
        const n = Number(options.limit);
        if (!Number.isInteger(n) || n < 1 || n > MAX_LIST_LIMIT) {
          throw r2Error("list", `MaxKeys params must be positive integer <= ${MAX_LIST_LIMIT}. (10022)`);
        }
        opts.limit = n;
      }
      for (const k of ["prefix", "cursor", "delimiter", "startAfter"]) {
        if (options[k] !== undefined && options[k] !== null) opts[k] = String(options[k]);
      }
      opts.include = [];
      if (options.include !== undefined && options.include !== null) {
        for (const v of options.include) {
          if (v !== "httpMetadata" && v !== "customMetadata") throw new RangeError(`Unsupported include value ${v}`);
          opts.include.push(v);
        }
      }
      const result = JSON.parse(await call("list", ops.op_r2_list, this.#binding, JSON.stringify(opts)));
      const objects = result.objects.map((o) => {
        if (!opts.include.includes("httpMetadata")) o.httpMetadata = {};
        if (!opts.include.includes("customMetadata")) o.customMetadata = {};
        return new R2Object(illegalConstructor, o);
      });
      const out = { objects, truncated: result.truncated };
      if (result.truncated && typeof result.cursor === "string") out.cursor = result.cursor;
      out.delimitedPrefixes = result.delimitedPrefixes;
      return out;
    }

    async createMultipartUpload(key, options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      key = checkKey(key, "createMultipartUpload");
      options = options ?? {};
      const httpMetadata = httpMetadataOf(options.httpMetadata);
      const customMetadata = customMetadataOf(options.customMetadata);
      const opts = { httpMetadata, customMetadata, storageClass: storageClassOf("createMultipartUpload", options.storageClass) };
      checkSsecKey("createMultipartUpload", options.ssecKey);
      checkMetadataSize("createMultipartUpload", httpMetadata, customMetadata);
      const uploadId = await call("createMultipartUpload", ops.op_r2_create_multipart, this.#binding, key, JSON.stringify(opts));
      return new R2MultipartUpload(illegalConstructor, this.#binding, key, uploadId);
    }

    resumeMultipartUpload(key, uploadId) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      return new R2MultipartUpload(illegalConstructor, this.#binding, String(key), String(uploadId));
    }
  }
  internals.setToStringTag(R2Bucket, "R2Bucket");
  internals.markUnserializable(R2Bucket, "R2Bucket");

  internals.envKinds.r2 = (index) => new R2Bucket(illegalConstructor, Number(index));
})
