(function (ops, internals) {
  "use strict";

  // The Cache API: `caches.default` and `caches.open(name)`. The checks that throw, with
  // Cloudflare's texts, are here; what is stored, for how long, and how a stored response answers
  // conditional and range requests is decided once in Rust (api/cache.rs), so the host's store
  // only keeps entries.
  const { hostCall, defineGlobal, setToStringTag, illegalConstructor, illegalInvocation } = internals;

  const MAX_NAME_LENGTH = 1024;
  // Cloudflare's per-object limit (Free to Business plans). A larger body is read to its end and
  // silently not stored, as Cloudflare's cache answers such a PUT with 413 and workerd ignores
  // it. Bodies are collected whole before they are stored.
  const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

  const RequestClass = globalThis.Request;

  const notImplemented = (method, type) =>
    new Error(`Failed to execute '${method}' on '${type}': the method is not implemented.`);

  // A Request as given, or one built from a URL string (TypeError `Invalid URL: x` otherwise).
  function coerce(requestOrUrl, method) {
    if (requestOrUrl instanceof RequestClass) return requestOrUrl;
    if (requestOrUrl === undefined) {
      throw new TypeError(`Failed to execute '${method}' on 'Cache': parameter 1 is not of type 'Request or string'.`);
    }
    return new RequestClass(String(requestOrUrl));
  }

  // The cache key: the absolute URL without its fragment, which never reaches a server.
  function keyOf(request) {
    const url = request.url;
    const hash = url.indexOf("#");
    return hash < 0 ? url : url.slice(0, hash);
  }

  // CacheQueryOptions: only ignoreMethod is supported; workerd refuses the other two if present.
  function queryOptions(options) {
    if (options === undefined || options === null) return { ignoreMethod: false };
    if (typeof options !== "object" && typeof options !== "function") {
      throw new TypeError("Failed to execute on 'Cache': parameter 2 is not of type 'CacheQueryOptions'.");
    }
    for (const field of ["ignoreSearch", "ignoreVary"]) {
      if (options[field] !== undefined) {
        throw new Error(`The '${field}' field on 'CacheQueryOptions' is not implemented.`);
      }
    }
    return { ignoreMethod: Boolean(options.ignoreMethod) };
  }

  class Cache {
    // null for caches.default, the name for caches.open(name).
    #name;

    constructor(token, name) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#name = name;
    }

    async match(request, options) {
      if (!(#name in this)) throw illegalInvocation();
      const { ignoreMethod } = queryOptions(options);
      request = coerce(request, "match");
      if (request.method !== "GET" && !ignoreMethod) return undefined;
      const headers = request.headers;
      const found = await hostCall(
        ops.op_cache_match, this.#name, keyOf(request),
        headers.get("range"), headers.get("if-none-match"), headers.get("if-modified-since"),
      );
      if (found === null) return undefined;
      return internals.newStoredResponse(found[0], found[1], found[2]);
    }

    async put(request, response) {
      if (!(#name in this)) throw illegalInvocation();
      if (!internals.isResponse(response)) {
        throw new TypeError("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'.");
      }
      if (response.type === "error") throw new TypeError("Cache is unable to store an error response");
      request = coerce(request, "put");
      if (request.method !== "GET") throw new TypeError("Cannot cache response to non-GET request.");
      if (response.status === 206) {
        throw new TypeError("Cannot cache response to a range request (206 Partial Content).");
      }
      const vary = response.headers.get("vary");
      if (vary !== null && vary.includes("*")) throw new TypeError("Cannot cache response with 'Vary: *' header.");
      if (response.status === 101) throw new TypeError("Cannot cache WebSocket upgrade response.");
      // Silently dropped, as in workerd: a cached 304 would answer unconditional requests.
      if (response.status === 304) return undefined;
      // Takes the body at once (bodyUsed is true when put() returns), then reads it whole.
      const parts = await internals.serializeResponse(response);
      const body = parts.body ?? new Uint8Array(0);
      if (body.byteLength > MAX_OBJECT_BYTES) return undefined;
      await hostCall(ops.op_cache_put, this.#name, keyOf(request), parts.status, parts.headersFlat, body);
      return undefined;
    }

    async delete(request, options) {
      if (!(#name in this)) throw illegalInvocation();
      const { ignoreMethod } = queryOptions(options);
      request = coerce(request, "delete");
      if (request.method !== "GET" && !ignoreMethod) return false;
      return hostCall(ops.op_cache_delete, this.#name, keyOf(request));
    }

    add() {
      if (!(#name in this)) throw illegalInvocation();
      throw notImplemented("add", "Cache");
    }
    addAll() {
      if (!(#name in this)) throw illegalInvocation();
      throw notImplemented("addAll", "Cache");
    }
    keys() {
      if (!(#name in this)) throw illegalInvocation();
      throw notImplemented("keys", "Cache");
    }
    matchAll() {
      if (!(#name in this)) throw illegalInvocation();
      throw notImplemented("matchAll", "Cache");
    }
  }
  setToStringTag(Cache, "Cache");

  class CacheStorage {
    #default;

    constructor(token) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#default = new Cache(illegalConstructor, null);
    }

    get default() {
      if (!(#default in this)) throw illegalInvocation();
      return this.#default;
    }

    async open(cacheName) {
      if (!(#default in this)) throw illegalInvocation();
      if (arguments.length < 1) {
        throw new TypeError("Failed to execute 'open' on 'CacheStorage': 1 argument required, but only 0 present.");
      }
      const name = String(cacheName);
      if (name.length >= MAX_NAME_LENGTH) throw new TypeError("Cache name is too long.");
      return new Cache(illegalConstructor, name);
    }

    match() {
      if (!(#default in this)) throw illegalInvocation();
      throw notImplemented("match", "CacheStorage");
    }
    has() {
      if (!(#default in this)) throw illegalInvocation();
      throw notImplemented("has", "CacheStorage");
    }
    delete() {
      if (!(#default in this)) throw illegalInvocation();
      throw notImplemented("delete", "CacheStorage");
    }
    keys() {
      if (!(#default in this)) throw illegalInvocation();
      throw notImplemented("keys", "CacheStorage");
    }
  }
  setToStringTag(CacheStorage, "CacheStorage");

  defineGlobal("Cache", Cache);
  defineGlobal("CacheStorage", CacheStorage);
  defineGlobal("caches", new CacheStorage(illegalConstructor));
})
