(function (ops, internals) {
  "use strict";

  const {
    defineGlobal, illegalInvocation, setToStringTag, makeIterator, utf8Encode, utf8Decode,
    isBufferSource, copyBytes, viewBytes,
  } = internals;

  // ---------------------------------------------------------------- Headers

  const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const httpWhitespaceRe = /^[\t\n\r ]+|[\t\n\r ]+$/g;

  function normalizeName(name) {
    name = String(name);
    if (!tokenRe.test(name)) throw new TypeError(`Invalid header name.`);
    return name.toLowerCase();
  }
  function normalizeValue(value) {
    value = String(value).replace(httpWhitespaceRe, "");
    if (/[\0\r\n]/.test(value) || /[^\x00-\xff]/.test(value)) throw new TypeError("Invalid header value.");
    return value;
  }

  let headersInternals;

  class Headers {
    #list = [];
    #guard = "none";
    // The sorted-and-combined view iteration walks; rebuilt lazily after a change.
    #sorted = null;

    constructor(init = undefined) {
      if (init === undefined || init === null) return;
      if (typeof init !== "object" && typeof init !== "function") {
        throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
      }
      if (#list in init) {
        this.#list = init.#list.map(([k, v]) => [k, v]);
      } else if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          if (pair === null || typeof pair !== "object" && typeof pair !== "function" || typeof pair[Symbol.iterator] !== "function") {
            throw new TypeError("Failed to construct 'Headers': The provided value cannot be converted to a sequence.");
          }
          const items = [...pair];
          if (items.length !== 2) {
            throw new TypeError("Failed to construct 'Headers': Invalid value");
          }
          this.#list.push([normalizeName(items[0]), normalizeValue(items[1])]);
        }
      } else {
        for (const key of Reflect.ownKeys(init)) {
          const desc = Reflect.getOwnPropertyDescriptor(init, key);
          if (desc === undefined || !desc.enumerable) continue;
          if (typeof key === "symbol") throw new TypeError("Cannot convert a Symbol value to a string");
          this.#list.push([normalizeName(key), normalizeValue(init[key])]);
        }
      }
    }

    static {
      headersInternals = {
        is: (h) => h !== null && typeof h === "object" && #list in h,
        setImmutable(h) { h.#guard = "immutable"; },
        isImmutable: (h) => h.#guard === "immutable",
        list: (h) => h.#list,
        // Iteration order: sorted by name, values of a repeated header combined, except
        // set-cookie which is never combined.
        sorted(h) {
          if (h.#sorted !== null) return h.#sorted;
          const groups = new Map();
          for (const [k, v] of h.#list) {
            const group = groups.get(k);
            if (group) group.push(v); else groups.set(k, [v]);
          }
          const out = [];
          for (const name of [...groups.keys()].sort()) {
            if (name === "set-cookie") {
              for (const v of groups.get(name)) out.push([name, v]);
            } else {
              out.push([name, groups.get(name).join(", ")]);
            }
          }
          h.#sorted = out;
          return out;
        },
        appendUnchecked(h, name, value) {
          h.#list.push([name, value]);
          h.#sorted = null;
        },
        get(h, name) {
          const values = h.#list.filter(([k]) => k === name).map(([, v]) => v);
          return values.length ? values.join(", ") : null;
        },
      };
    }

    #check(method, args, required) {
      if (!(#list in this)) throw illegalInvocation();
      if (args < required) {
        throw new TypeError(`Failed to execute '${method}' on 'Headers': ${required} argument${required > 1 ? "s" : ""} required, but only ${args} present.`);
      }
    }
    #mutable() {
      if (this.#guard === "immutable") throw new TypeError("Can't modify immutable headers.");
    }

    append(name, value) {
      this.#check("append", arguments.length, 2);
      const n = normalizeName(name);
      const v = normalizeValue(value);
      this.#mutable();
      this.#list.push([n, v]);
      this.#sorted = null;
    }
    delete(name) {
      this.#check("delete", arguments.length, 1);
      const n = normalizeName(name);
      this.#mutable();
      this.#list = this.#list.filter(([k]) => k !== n);
      this.#sorted = null;
    }
    get(name) {
      this.#check("get", arguments.length, 1);
      return headersInternals.get(this, normalizeName(name));
    }
    getAll(name) {
      this.#check("getAll", arguments.length, 1);
      const n = normalizeName(name);
      if (n !== "set-cookie") {
        throw new TypeError('getAll() can only be used with the header name "Set-Cookie".');
      }
      return this.#list.filter(([k]) => k === n).map(([, v]) => v);
    }
    getSetCookie() {
      this.#check("getSetCookie", 0, 0);
      return this.#list.filter(([k]) => k === "set-cookie").map(([, v]) => v);
    }
    has(name) {
      this.#check("has", arguments.length, 1);
      const n = normalizeName(name);
      return this.#list.some(([k]) => k === n);
    }
    set(name, value) {
      this.#check("set", arguments.length, 2);
      const n = normalizeName(name);
      const v = normalizeValue(value);
      this.#mutable();
      const index = this.#list.findIndex(([k]) => k === n);
      if (index < 0) {
        this.#list.push([n, v]);
      } else {
        this.#list[index] = [n, v];
        this.#list = this.#list.filter(([k], i) => i <= index || k !== n);
      }
      this.#sorted = null;
    }
    forEach(callback, thisArg = undefined) {
      this.#check("forEach", arguments.length, 1);
      if (typeof callback !== "function") {
        throw new TypeError("Failed to execute 'forEach' on 'Headers': parameter 1 is not of type 'Function'.");
      }
      const list = headersInternals.sorted(this);
      for (const [k, v] of list) callback.call(thisArg, v, k, this);
    }
    keys() {
      this.#check("keys", 0, 0);
      return makeIterator(this, "Headers Iterator", headersInternals.sorted, ([k]) => k);
    }
    values() {
      this.#check("values", 0, 0);
      return makeIterator(this, "Headers Iterator", headersInternals.sorted, ([, v]) => v);
    }
    entries() {
      this.#check("entries", 0, 0);
      return makeIterator(this, "Headers Iterator", headersInternals.sorted, ([k, v]) => [k, v]);
    }
  }
  Object.defineProperty(Headers.prototype, Symbol.iterator, {
    value: Headers.prototype.entries, writable: true, configurable: true,
  });
  setToStringTag(Headers, "Headers");

  // ---------------------------------------------------------------- Blob / File

  function normalizeBlobType(type) {
    const t = String(type);
    return /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : "";
  }

  let blobBytes;

  class Blob {
    #bytes;
    #type;

    constructor(blobParts = undefined, options = undefined) {
      if (options != null && typeof options !== "object") throw new TypeError("The 'options' argument must be an object");
      const endings = options?.endings === undefined ? "transparent" : String(options.endings);
      if (endings !== "transparent" && endings !== "native") {
        throw new TypeError(`The provided value '${endings}' is not a valid enum value of type EndingType.`);
      }
      const chunks = [];
      if (blobParts !== undefined) {
        if (blobParts === null || typeof blobParts !== "object" || typeof blobParts[Symbol.iterator] !== "function") {
          throw new TypeError("Failed to construct 'Blob': The provided value cannot be converted to a sequence.");
        }
        for (const part of blobParts) {
          if (part !== null && typeof part === "object" && #bytes in part) chunks.push(part.#bytes);
          else if (isBufferSource(part)) chunks.push(copyBytes(part));
          else {
            let text = String(part);
            if (endings === "native") text = text.replace(/\r\n?/g, "\n");
            chunks.push(utf8Encode(text));
          }
        }
      }
      this.#bytes = concatBytes(chunks);
      this.#type = options?.type === undefined ? "" : normalizeBlobType(options.type);
    }

    static {
      blobBytes = (b) => b.#bytes;
    }

    #check() {
      if (!(#bytes in this)) throw illegalInvocation();
    }
    get size() { this.#check(); return this.#bytes.byteLength; }
    get type() { this.#check(); return this.#type; }

    slice(start = undefined, end = undefined, contentType = undefined) {
      this.#check();
      const size = this.#bytes.byteLength;
      const clamp = (v, fallback) => {
        if (v === undefined) return fallback;
        const n = Math.trunc(Number(v)) || 0;
        return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
      };
      const from = clamp(start, 0);
      const to = clamp(end, size);
      const blob = new Blob([], { type: contentType === undefined ? "" : contentType });
      blob.#bytes = this.#bytes.slice(from, Math.max(from, to));
      return blob;
    }
    text() {
      try { this.#check(); } catch (e) { return Promise.reject(e); }
      return Promise.resolve(utf8Decode(this.#bytes));
    }
    arrayBuffer() {
      try { this.#check(); } catch (e) { return Promise.reject(e); }
      return Promise.resolve(this.#bytes.slice().buffer);
    }
    bytes() {
      try { this.#check(); } catch (e) { return Promise.reject(e); }
      return Promise.resolve(this.#bytes.slice());
    }
    stream() {
      this.#check();
      return internals.readableFromBytes(this.#bytes.slice());
    }
  }
  setToStringTag(Blob, "Blob");

  function concatBytes(chunks) {
    if (chunks.length === 1) return chunks[0];
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.byteLength;
    }
    return out;
  }

  function isBlob(value) {
    try {
      blobBytes(value);
      return true;
    } catch {
      return false;
    }
  }

  class File extends Blob {
    #name;
    #lastModified;
    constructor(fileBits, fileName, options = undefined) {
      if (arguments.length < 2) {
        throw new TypeError(`Failed to construct 'File': 2 arguments required, but only ${arguments.length} present.`);
      }
      super(fileBits, options);
      this.#name = String(fileName);
      this.#lastModified = options?.lastModified === undefined ? Date.now() : Math.trunc(Number(options.lastModified)) || 0;
    }
    get name() {
      if (!(#name in this)) throw illegalInvocation();
      return this.#name;
    }
    get lastModified() {
      if (!(#name in this)) throw illegalInvocation();
      return this.#lastModified;
    }
  }
  setToStringTag(File, "File");

  // ---------------------------------------------------------------- FormData

  let formDataList;

  function formEntry(name, value, filename, argCount) {
    name = String(name).toWellFormed();
    if (value !== null && typeof value === "object" && isBlob(value)) {
      if (!(value instanceof File) || argCount > 2) {
        const fname = argCount > 2 ? String(filename) : value instanceof File ? value.name : "blob";
        const opts = { type: value.type };
        if (value instanceof File) opts.lastModified = value.lastModified;
        value = new File([value], fname, opts);
      }
      return [name, value];
    }
    if (argCount > 2) {
      throw new TypeError("Failed to execute on 'FormData': parameter 2 is not of type 'Blob'.");
    }
    return [name, String(value).toWellFormed()];
  }

  class FormData {
    #list = [];

    constructor(form = undefined) {
      if (form !== undefined) {
        throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement'.");
      }
    }
    static {
      formDataList = (fd) => fd.#list;
    }
    #check(method, args, required) {
      if (!(#list in this)) throw illegalInvocation();
      if (args < required) {
        throw new TypeError(`Failed to execute '${method}' on 'FormData': ${required} argument${required > 1 ? "s" : ""} required, but only ${args} present.`);
      }
    }
    append(name, value, filename = undefined) {
      this.#check("append", arguments.length, 2);
      this.#list.push(formEntry(name, value, filename, arguments.length));
    }
    delete(name) {
      this.#check("delete", arguments.length, 1);
      name = String(name).toWellFormed();
      this.#list = this.#list.filter(([k]) => k !== name);
    }
    get(name) {
      this.#check("get", arguments.length, 1);
      name = String(name).toWellFormed();
      const found = this.#list.find(([k]) => k === name);
      return found ? found[1] : null;
    }
    getAll(name) {
      this.#check("getAll", arguments.length, 1);
      name = String(name).toWellFormed();
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name) {
      this.#check("has", arguments.length, 1);
      name = String(name).toWellFormed();
      return this.#list.some(([k]) => k === name);
    }
    set(name, value, filename = undefined) {
      this.#check("set", arguments.length, 2);
      const entry = formEntry(name, value, filename, arguments.length);
      const index = this.#list.findIndex(([k]) => k === entry[0]);
      if (index < 0) {
        this.#list.push(entry);
      } else {
        this.#list[index] = entry;
        this.#list = this.#list.filter(([k], i) => i <= index || k !== entry[0]);
      }
    }
    forEach(callback, thisArg = undefined) {
      this.#check("forEach", arguments.length, 1);
      if (typeof callback !== "function") {
        throw new TypeError("Failed to execute 'forEach' on 'FormData': parameter 1 is not of type 'Function'.");
      }
      for (let i = 0; i < this.#list.length; i++) {
        const [k, v] = this.#list[i];
        callback.call(thisArg, v, k, this);
      }
    }
    keys() {
      this.#check("keys", 0, 0);
      return makeIterator(this, "FormData Iterator", formDataList, ([k]) => k);
    }
    values() {
      this.#check("values", 0, 0);
      return makeIterator(this, "FormData Iterator", formDataList, ([, v]) => v);
    }
    entries() {
      this.#check("entries", 0, 0);
      return makeIterator(this, "FormData Iterator", formDataList, ([k, v]) => [k, v]);
    }
  }
  Object.defineProperty(FormData.prototype, Symbol.iterator, {
    value: FormData.prototype.entries, writable: true, configurable: true,
  });
  setToStringTag(FormData, "FormData");
  function isFormData(value) {
    try {
      formDataList(value);
      return true;
    } catch {
      return false;
    }
  }

  const escapeMultipartName = (s) => s.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");

  function serializeMultipart(fd) {
    const boundary = "----formdata-" + ops.op_random_uuid().replace(/-/g, "");
    const chunks = [];
    for (const [name, value] of formDataList(fd)) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeMultipartName(name.replace(/\r\n?|\n/g, "\r\n"))}"`;
      if (typeof value === "string") {
        chunks.push(utf8Encode(`${head}\r\n\r\n${value.replace(/\r\n?|\n/g, "\r\n")}\r\n`));
      } else {
        head += `; filename="${escapeMultipartName(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
        chunks.push(utf8Encode(head), blobBytes(value), utf8Encode("\r\n"));
      }
    }
    chunks.push(utf8Encode(`--${boundary}--\r\n`));
    return { bytes: concatBytes(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
  }

  function indexOfBytes(haystack, needle, from) {
    const first = needle[0];
    const last = haystack.length - needle.length;
    for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
      let j = 1;
      while (j < needle.length && haystack[i + j] === needle[j]) j++;
      if (j === needle.length) return i;
    }
    return -1;
  }

  // Parameters of a header value like `form-data; name="a"; filename="b.txt"`.
  function parseHeaderParams(value) {
    const params = new Map();
    const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
    let m;
    while ((m = re.exec(value)) !== null) {
      const key = m[1].toLowerCase();
      if (!params.has(key)) params.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3].trim());
    }
    return params;
  }

  const formParseError = () => new TypeError("Failed to parse body as FormData.");

  function parseMultipart(bytes, boundary) {
    const fd = new FormData();
    const list = formDataList(fd);
    const delimiter = utf8Encode(`--${boundary}`);
    let pos = indexOfBytes(bytes, delimiter, 0);
    if (pos < 0) throw formParseError();
    for (;;) {
      pos += delimiter.length;
      if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) break;
      // Skip transport padding up to the CRLF that ends the delimiter line.
      while (bytes[pos] === 0x20 || bytes[pos] === 0x09) pos++;
      if (bytes[pos] === 0x0d && bytes[pos + 1] === 0x0a) pos += 2;
      else if (bytes[pos] === 0x0a) pos += 1;
      else throw formParseError();
      const headerEnd = indexOfBytes(bytes, utf8Encode("\r\n\r\n"), pos);
      if (headerEnd < 0) throw formParseError();
      const headerText = utf8Decode(bytes.subarray(pos, headerEnd));
      const next = indexOfBytes(bytes, utf8Encode(`\r\n--${boundary}`), headerEnd + 4);
      if (next < 0) throw formParseError();
      const content = bytes.subarray(headerEnd + 4, next);
      let disposition = null;
      let contentType = "";
      for (const line of headerText.split(/\r\n/)) {
        const colon = line.indexOf(":");
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === "content-disposition") disposition = value;
        else if (name === "content-type") contentType = value;
      }
      if (disposition === null || !/^form-data\b/i.test(disposition)) throw formParseError();
      const params = parseHeaderParams(disposition);
      if (!params.has("name")) throw formParseError();
      const name = params.get("name");
      if (params.has("filename")) {
        list.push([name, new File([content], params.get("filename"), { type: contentType })]);
      } else {
        list.push([name, utf8Decode(content)]);
      }
      pos = next + 2;
    }
    return fd;
  }

  function parseFormBody(bytes, contentType) {
    const essence = (contentType ?? "").split(";")[0].trim().toLowerCase();
    if (essence === "multipart/form-data") {
      const boundary = parseHeaderParams(contentType).get("boundary");
      if (!boundary) throw new TypeError("Content-Type for multipart/form-data is missing a boundary parameter.");
      return parseMultipart(bytes, boundary);
    }
    if (essence === "application/x-www-form-urlencoded") {
      const fd = new FormData();
      formDataList(fd).push(...internals.parseUrlencoded(utf8Decode(bytes)));
      return fd;
    }
    throw new TypeError("Unrecognized Content-Type header value. FormData can only parse the following MIME " +
      "types: multipart/form-data, application/x-www-form-urlencoded");
  }

  // ---------------------------------------------------------------- bodies

  // A body is either bytes known up front (strings, buffers, blobs, forms) or a ReadableStream.
  // The stream for known bytes is only created if user code asks for `body`.
  function extractBody(init) {
    if (init === null || init === undefined) return { body: null, contentType: null };
    if (typeof init === "string") return { body: bytesBody(utf8Encode(init)), contentType: "text/plain;charset=UTF-8" };
    if (isBufferSource(init)) return { body: bytesBody(copyBytes(init)), contentType: null };
    if (isBlob(init)) {
      const bytes = blobBytes(init);
      sharedBytes.add(bytes);
      return { body: bytesBody(bytes), contentType: init.type || null };
    }
    if (internals.isURLSearchParams(init)) {
      return { body: bytesBody(utf8Encode(init.toString())), contentType: "application/x-www-form-urlencoded;charset=UTF-8" };
    }
    if (isFormData(init)) {
      const { bytes, contentType } = serializeMultipart(init);
      return { body: bytesBody(bytes), contentType };
    }
    if (internals.isReadableStream(init)) {
      if (internals.streamIsDisturbed(init) || internals.streamIsLocked(init)) {
        throw new TypeError("This ReadableStream is disturbed (has already been read from), and cannot be used as a body.");
      }
      return { body: { bytes: null, stream: init, used: false }, contentType: null };
    }
    return { body: bytesBody(utf8Encode(String(init))), contentType: "text/plain;charset=UTF-8" };
  }
  function bytesBody(bytes) {
    return { bytes, stream: null, used: false };
  }

  function bodyStream(body) {
    if (body.stream === null) {
      const bytes = body.used ? new Uint8Array(0) : isShared(body.bytes) ? body.bytes.slice() : body.bytes;
      body.stream = internals.readableFromBytes(bytes);
      body.bytes = null;
    }
    return body.stream;
  }
  function bodyUsed(body) {
    if (body === null) return false;
    return body.stream !== null ? internals.streamIsDisturbed(body.stream) : body.used;
  }

  const bodyUsedError = () =>
    new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");

  async function consumeBody(body) {
    if (body === null) return new Uint8Array(0);
    if (bodyUsed(body)) throw bodyUsedError();
    if (body.stream !== null) {
      if (internals.streamIsLocked(body.stream)) throw new TypeError("This ReadableStream is currently locked to a reader.");
      return internals.readAllBytes(body.stream);
    }
    body.used = true;
    return body.bytes;
  }
  internals.consumeBody = consumeBody;

  function cloneBody(body) {
    if (body === null) return null;
    if (bodyUsed(body)) throw bodyUsedError();
    if (body.stream !== null) {
      const [a, b] = internals.teeStream(body.stream);
      body.stream = a;
      return { bytes: null, stream: b, used: false };
    }
    return { bytes: body.bytes, stream: null, used: false };
  }

  function mimeOf(headers) {
    return headersInternals.get(headers, "content-type");
  }

  // Body mixin shared by Request and Response; `state(this)` brand-checks and returns the
  // object's record.
  function defineBodyMethods(proto, state) {
    const methods = {
      get body() {
        const s = state(this);
        return s.body === null ? null : bodyStream(s.body);
      },
      get bodyUsed() {
        return bodyUsed(state(this).body);
      },
      async arrayBuffer() {
        const bytes = await consumeBody(state(this).body);
        return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !isShared(bytes)
          ? bytes.buffer
          : bytes.slice().buffer;
      },
      async bytes() {
        const bytes = await consumeBody(state(this).body);
        return isShared(bytes) ? bytes.slice() : bytes;
      },
      async text() {
        return utf8Decode(await consumeBody(state(this).body));
      },
      async json() {
        return JSON.parse(utf8Decode(await consumeBody(state(this).body)));
      },
      async formData() {
        const s = state(this);
        const bytes = await consumeBody(s.body);
        return parseFormBody(bytes, mimeOf(s.headers));
      },
      async blob() {
        const s = state(this);
        const bytes = await consumeBody(s.body);
        return new Blob([bytes], { type: mimeOf(s.headers) ?? "" });
      },
    };
    for (const key of Object.keys(methods)) {
      const desc = Object.getOwnPropertyDescriptor(methods, key);
      desc.enumerable = false;
      Object.defineProperty(proto, key, desc);
    }
  }
  // Bytes that came from a clone or a Blob may be referenced elsewhere; hand out copies.
  const sharedBytes = new WeakSet();
  const isShared = (bytes) => sharedBytes.has(bytes);

  // ---------------------------------------------------------------- Response

  const nullBodyStatuses = [101, 204, 205, 304];
  const redirectStatuses = [301, 302, 303, 307, 308];
  const reasonPhraseRe = /^[\t\x20-\x7e\x80-\xff]*$/;

  let responseState;

  class Response {
    #s;

    constructor(body = null, init = undefined) {
      if (init !== undefined && init !== null && typeof init !== "object") {
        throw new TypeError("Failed to construct 'Response': The provided value is not of type 'ResponseInit'.");
      }
      const status = init?.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || (status < 200 && status !== 101) || status > 599) {
        throw new RangeError("Responses may only be constructed with status codes in the range 200 to 599, inclusive.");
      }
      const statusText = init?.statusText === undefined ? "" : String(init.statusText);
      if (!reasonPhraseRe.test(statusText)) throw new TypeError("Invalid statusText.");
      const headers = new Headers(init?.headers);
      const extracted = extractBody(body);
      if (extracted.body !== null && nullBodyStatuses.includes(status)) {
        throw new TypeError("Response with null body status (101, 204, 205, or 304) cannot have a body.");
      }
      if (extracted.contentType !== null && !headers.has("content-type")) {
        headersInternals.appendUnchecked(headers, "content-type", extracted.contentType);
      }
      this.#s = {
        type: "default", status, statusText, headers, body: extracted.body, url: "", redirected: false,
        cf: init?.cf, webSocket: init?.webSocket ?? null,
      };
    }

    static {
      responseState = (r) => {
        if (r === null || typeof r !== "object" || !(#s in r)) throw illegalInvocation();
        return r.#s;
      };
    }

    static json(data, init = undefined) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError("The data is not JSON serializable");
      const headers = new Headers(init?.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(text, { status: init?.status, statusText: init?.statusText, headers, cf: init?.cf });
    }

    static redirect(url, status = 302) {
      let parsed;
      try {
        parsed = new internals.URL(url);
      } catch {
        throw new TypeError(`Invalid URL: ${String(url)}`);
      }
      status = Number(status);
      if (!redirectStatuses.includes(status)) {
        throw new RangeError(`Invalid status code: ${status}. Redirect status must be one of 301, 302, 303, 307, 308.`);
      }
      const response = new Response(null, { status, headers: { location: parsed.href } });
      headersInternals.setImmutable(response.headers);
      return response;
    }

    static error() {
      const response = new Response(null);
      const s = responseState(response);
      s.type = "error";
      s.status = 0;
      headersInternals.setImmutable(s.headers);
      return response;
    }

    get type() { return responseState(this).type; }
    get url() { return responseState(this).url; }
    get redirected() { return responseState(this).redirected; }
    get status() { return responseState(this).status; }
    get ok() {
      const { status } = responseState(this);
      return status >= 200 && status <= 299;
    }
    get statusText() { return responseState(this).statusText; }
    get headers() { return responseState(this).headers; }
    get webSocket() { return responseState(this).webSocket; }
    get cf() { return responseState(this).cf; }

    clone() {
      const s = responseState(this);
      const copy = new Response(null);
      const body = cloneBody(s.body);
      if (body !== null && body.bytes !== null) sharedBytes.add(body.bytes);
      if (s.body !== null && s.body.bytes !== null) sharedBytes.add(s.body.bytes);
      const headers = new Headers(s.headers);
      if (headersInternals.isImmutable(s.headers)) headersInternals.setImmutable(headers);
      Object.assign(responseState(copy), { ...s, headers, body });
      return copy;
    }
  }
  defineBodyMethods(Response.prototype, (r) => responseState(r));
  setToStringTag(Response, "Response");

  // ---------------------------------------------------------------- Request

  const normalizedMethods = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
  const forbiddenMethods = ["CONNECT", "TRACE", "TRACK"];

  function normalizeMethod(method) {
    method = String(method);
    if (!tokenRe.test(method)) throw new TypeError(`Invalid HTTP method string: ${method}`);
    const upper = method.toUpperCase();
    if (forbiddenMethods.includes(upper)) throw new TypeError(`Invalid HTTP method string: ${method}`);
    return normalizedMethods.includes(upper) ? upper : method;
  }

  let requestState;

  class Request {
    #s;

    constructor(input, init = undefined) {
      if (arguments.length === 0) {
        throw new TypeError("Failed to construct 'Request': 1 argument required, but only 0 present.");
      }
      if (init !== undefined && init !== null && typeof init !== "object") {
        throw new TypeError("Failed to construct 'Request': The provided value is not of type 'RequestInit'.");
      }
      let base = null;
      let url;
      if (input !== null && typeof input === "object" && #s in input) {
        base = input.#s;
        url = base.url;
      } else {
        let parsed;
        try {
          parsed = new internals.URL(String(input));
        } catch {
          throw new TypeError(`Invalid URL: ${String(input)}`);
        }
        if (parsed.username || parsed.password) {
          throw new TypeError("Request URL must not include credentials.");
        }
        url = parsed.href;
      }

      const method = init?.method !== undefined ? normalizeMethod(init.method) : base?.method ?? "GET";
      const redirect = init?.redirect !== undefined ? String(init.redirect) : base?.redirect ?? "follow";
      if (redirect !== "follow" && redirect !== "manual") {
        throw new TypeError(`Invalid redirect value, must be one of "follow" or "manual" ("error" won't be implemented since it does not make sense at the edge; use "manual" and check the response status code).`);
      }
      const cache = init?.cache !== undefined ? String(init.cache) : base?.cache;
      if (cache !== undefined && cache !== "no-store") throw new TypeError(`Unsupported cache mode: ${cache}`);

      const headers = new Headers(init?.headers !== undefined ? init.headers : base?.headers);
      let signal = base?.signal ?? null;
      if (init?.signal !== undefined) {
        if (init.signal !== null && !internals.isAbortSignal(init.signal)) {
          throw new TypeError("Failed to construct 'Request': member signal is not of type AbortSignal.");
        }
        signal = init.signal;
      }

      let body = null;
      const initBody = init?.body;
      if (initBody !== undefined && initBody !== null) {
        if (method === "GET" || method === "HEAD") {
          throw new TypeError("Request with a GET or HEAD method cannot have a body.");
        }
        const extracted = extractBody(initBody);
        body = extracted.body;
        if (extracted.contentType !== null && !headers.has("content-type")) {
          headersInternals.appendUnchecked(headers, "content-type", extracted.contentType);
        }
      } else if (base !== null && base.body !== null && initBody === undefined) {
        if (bodyUsed(base.body)) throw bodyUsedError();
        if (method === "GET" || method === "HEAD") {
          throw new TypeError("Request with a GET or HEAD method cannot have a body.");
        }
        // The new request takes over the input's body, leaving the input's used.
        body = base.body.stream !== null
          ? { bytes: null, stream: base.body.stream, used: false }
          : { bytes: base.body.bytes, stream: null, used: false };
        base.body = { bytes: null, stream: null, used: true };
      }

      this.#s = {
        method, url, headers, body, redirect, cache, signal,
        cf: init?.cf !== undefined ? init.cf : base?.cf,
        fetcher: null,
      };
    }

    static {
      requestState = (r) => {
        if (r === null || typeof r !== "object" || !(#s in r)) throw illegalInvocation();
        return r.#s;
      };
    }

    get method() { return requestState(this).method; }
    get url() { return requestState(this).url; }
    get headers() { return requestState(this).headers; }
    get redirect() { return requestState(this).redirect; }
    get cache() { return requestState(this).cache; }
    get cf() { return requestState(this).cf; }
    get fetcher() { return requestState(this).fetcher; }
    get integrity() { requestState(this); return ""; }
    get keepalive() { requestState(this); return false; }
    get signal() {
      const s = requestState(this);
      if (s.signal === null) s.signal = internals.newAbortSignal();
      return s.signal;
    }

    clone() {
      const s = requestState(this);
      const body = cloneBody(s.body);
      if (body !== null && body.bytes !== null) sharedBytes.add(body.bytes);
      if (s.body !== null && s.body.bytes !== null) sharedBytes.add(s.body.bytes);
      const copy = new Request(s.url);
      const headers = new Headers(s.headers);
      if (headersInternals.isImmutable(s.headers)) headersInternals.setImmutable(headers);
      Object.assign(requestState(copy), { ...s, headers, body });
      return copy;
    }
  }
  defineBodyMethods(Request.prototype, (r) => requestState(r));
  setToStringTag(Request, "Request");

  // Incoming requests carry immutable headers and redirect "manual", as on Cloudflare.
  internals.newIncomingRequest = (method, url, headersFlat, body) => {
    const headers = new Headers();
    for (let i = 0; i + 1 < headersFlat.length; i += 2) {
      headersInternals.appendUnchecked(headers, String(headersFlat[i]).toLowerCase(), String(headersFlat[i + 1]));
    }
    const request = new Request(url);
    const s = requestState(request);
    s.method = method;
    s.redirect = "manual";
    s.headers = headers;
    s.body = body === null || body === undefined ? null : bytesBody(body);
    headersInternals.setImmutable(headers);
    return request;
  };

  // A response rebuilt from stored parts (a Cache API hit). Its headers are immutable, as those of
  // responses the runtime hands to a worker are on Cloudflare.
  internals.newStoredResponse = (status, headersFlat, body) => {
    const response = new Response(null, { status });
    const s = responseState(response);
    for (let i = 0; i + 1 < headersFlat.length; i += 2) {
      headersInternals.appendUnchecked(s.headers, String(headersFlat[i]), String(headersFlat[i + 1]));
    }
    s.body = body === null || body === undefined ? null : bytesBody(body);
    headersInternals.setImmutable(s.headers);
    return response;
  };

  internals.isResponse = (value) => {
    try {
      responseState(value);
      return true;
    } catch {
      return false;
    }
  };

  // Header pairs in order, repeats kept, for bindings that forward a request to the host.
  internals.headerPairs = (headers) => headersInternals.list(headers);

  // A Response as fetch() hands it back: immutable headers, the URL it finally came from and
  // whether a redirect was followed. `body` (a Uint8Array the response takes over) may be null.
  internals.newFetchedResponse = (status, statusText, headersFlat, body, url, redirected) => {
    const response = new Response(null);
    const s = responseState(response);
    const headers = new Headers();
    for (let i = 0; i + 1 < headersFlat.length; i += 2) {
      headersInternals.appendUnchecked(headers, String(headersFlat[i]).toLowerCase(), String(headersFlat[i + 1]));
    }
    headersInternals.setImmutable(headers);
    s.status = status;
    s.statusText = statusText;
    s.headers = headers;
    s.body = body === null || nullBodyStatuses.includes(status) ? null : bytesBody(body);
    s.url = url;
    s.redirected = redirected;
    return response;
  };

  // Status, reason, flat header pairs (Set-Cookie kept one per pair) and the whole body.
  internals.serializeResponse = async (response) => {
    const s = responseState(response);
    const headersFlat = [];
    for (const [name, value] of headersInternals.list(s.headers)) headersFlat.push(name, value);
    const body = s.body === null ? null : await consumeBody(s.body);
    return { status: s.status, statusText: s.statusText, headersFlat, body };
  };

  const view = (obj, keys) => ({ props: keys.map((k) => [k, obj[k]]) });
  internals.registerInspector(Headers, (h) => ({ props: headersInternals.sorted(h) }));
  internals.registerInspector(Blob, (b) => view(b, ["size", "type"]));
  internals.registerInspector(File, (f) => view(f, ["name", "lastModified", "size", "type"]));
  internals.registerInspector(FormData, (fd) => ({ props: formDataList(fd) }));
  internals.registerInspector(Request, (r) => view(r, ["method", "url", "headers", "redirect", "bodyUsed"]));
  internals.registerInspector(Response, (r) => view(r, ["status", "statusText", "headers", "ok", "redirected", "type", "url", "bodyUsed"]));

  for (const [name, value] of Object.entries({ Headers, Blob, File, FormData, Response, Request })) {
    defineGlobal(name, value);
  }
})
