(function (ops, internals) {
  "use strict";

  const { defineGlobal, illegalInvocation, setToStringTag, utf8Encode, utf8Decode } = internals;

  const HREF = 0, ORIGIN = 1, PROTOCOL = 2, USERNAME = 3, PASSWORD = 4, HOST = 5, HOSTNAME = 6,
    PORT = 7, PATHNAME = 8, SEARCH = 9, HASH = 10;

  const toUSV = (value) => String(value).toWellFormed();

  // application/x-www-form-urlencoded

  function percentDecode(str) {
    if (!str.includes("%")) return str;
    const bytes = utf8Encode(str);
    const out = new Uint8Array(bytes.length);
    let n = 0;
    const hex = (b) => (b >= 0x30 && b <= 0x39 ? b - 0x30 : (b | 0x20) >= 0x61 && (b | 0x20) <= 0x66 ? (b | 0x20) - 0x57 : -1);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x25 && i + 2 < bytes.length) {
        const hi = hex(bytes[i + 1]);
        const lo = hex(bytes[i + 2]);
        if (hi >= 0 && lo >= 0) {
          out[n++] = (hi << 4) | lo;
          i += 2;
          continue;
        }
      }
      out[n++] = b;
    }
    return utf8Decode(out.subarray(0, n));
  }

  function parseUrlencoded(input) {
    const list = [];
    for (const sequence of input.split("&")) {
      if (sequence === "") continue;
      const eq = sequence.indexOf("=");
      const name = eq >= 0 ? sequence.slice(0, eq) : sequence;
      const value = eq >= 0 ? sequence.slice(eq + 1) : "";
      list.push([percentDecode(name.replace(/\+/g, " ")), percentDecode(value.replace(/\+/g, " "))]);
    }
    return list;
  }
  internals.parseUrlencoded = parseUrlencoded;

  const formEscapes = { "!": "%21", "'": "%27", "(": "%28", ")": "%29", "~": "%7E", "%20": "+" };
  function serializeComponent(str) {
    return encodeURIComponent(str).replace(/[!'()~]|%20/g, (m) => formEscapes[m]);
  }
  function serializeUrlencoded(list) {
    return list.map(([k, v]) => `${serializeComponent(k)}=${serializeComponent(v)}`).join("&");
  }
  internals.serializeUrlencoded = serializeUrlencoded;

  let paramsInternals;

  class URLSearchParams {
    #list = [];
    #url = null;

    constructor(init = "") {
      if (init !== null && typeof init === "object" || typeof init === "function") {
        if (#list in init) {
          this.#list = init.#list.map(([k, v]) => [k, v]);
        } else if (typeof init[Symbol.iterator] === "function") {
          for (const pair of init) {
            if (pair === null || typeof pair !== "object" && typeof pair !== "function" || typeof pair[Symbol.iterator] !== "function") {
              throw new TypeError("Failed to construct 'URLSearchParams': The provided value cannot be converted to a sequence.");
            }
            const items = [...pair];
            if (items.length !== 2) {
              throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
            }
            this.#list.push([toUSV(items[0]), toUSV(items[1])]);
          }
        } else {
          for (const key of Reflect.ownKeys(init)) {
            const desc = Reflect.getOwnPropertyDescriptor(init, key);
            if (desc === undefined || !desc.enumerable) continue;
            if (typeof key === "symbol") throw new TypeError("Cannot convert a Symbol value to a string");
            this.#list.push([toUSV(key), toUSV(init[key])]);
          }
        }
      } else {
        let str = toUSV(init);
        if (str.startsWith("?")) str = str.slice(1);
        this.#list = parseUrlencoded(str);
      }
    }

    static {
      paramsInternals = {
        attach(params, url) { params.#url = url; },
        reset(params, query) { params.#list = parseUrlencoded(query); },
        serialize: (params) => serializeUrlencoded(params.#list),
        list: (params) => params.#list,
        is: (v) => v !== null && typeof v === "object" && #list in v,
      };
    }

    #update() {
      if (this.#url !== null) urlInternals.setQueryFromParams(this.#url, serializeUrlencoded(this.#list));
    }
    #check(method, args, required) {
      if (!(#list in this)) throw illegalInvocation();
      if (args < required) {
        throw new TypeError(`Failed to execute '${method}' on 'URLSearchParams': ${required} argument${required > 1 ? "s" : ""} required, but only ${args} present.`);
      }
    }

    get size() {
      this.#check("size", 0, 0);
      return this.#list.length;
    }
    append(name, value) {
      this.#check("append", arguments.length, 2);
      this.#list.push([toUSV(name), toUSV(value)]);
      this.#update();
    }
    delete(name, value = undefined) {
      this.#check("delete", arguments.length, 1);
      name = toUSV(name);
      if (value === undefined) {
        this.#list = this.#list.filter(([k]) => k !== name);
      } else {
        value = toUSV(value);
        this.#list = this.#list.filter(([k, v]) => k !== name || v !== value);
      }
      this.#update();
    }
    get(name) {
      this.#check("get", arguments.length, 1);
      name = toUSV(name);
      const found = this.#list.find(([k]) => k === name);
      return found ? found[1] : null;
    }
    getAll(name) {
      this.#check("getAll", arguments.length, 1);
      name = toUSV(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name, value = undefined) {
      this.#check("has", arguments.length, 1);
      name = toUSV(name);
      if (value === undefined) return this.#list.some(([k]) => k === name);
      value = toUSV(value);
      return this.#list.some(([k, v]) => k === name && v === value);
    }
    set(name, value) {
      this.#check("set", arguments.length, 2);
      name = toUSV(name);
      value = toUSV(value);
      const index = this.#list.findIndex(([k]) => k === name);
      if (index < 0) {
        this.#list.push([name, value]);
      } else {
        this.#list[index][1] = value;
        this.#list = this.#list.filter(([k], i) => i <= index || k !== name);
      }
      this.#update();
    }
    sort() {
      this.#check("sort", 0, 0);
      // Array.prototype.sort is stable and compares strings by UTF-16 code units, as required.
      this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.#update();
    }
    forEach(callback, thisArg = undefined) {
      this.#check("forEach", arguments.length, 1);
      if (typeof callback !== "function") {
        throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not of type 'Function'.");
      }
      for (let i = 0; i < this.#list.length; i++) {
        const [k, v] = this.#list[i];
        callback.call(thisArg, v, k, this);
      }
    }
    keys() {
      this.#check("keys", 0, 0);
      return makeIterator(this, "URLSearchParams Iterator", paramsInternals.list, ([k]) => k);
    }
    values() {
      this.#check("values", 0, 0);
      return makeIterator(this, "URLSearchParams Iterator", paramsInternals.list, ([, v]) => v);
    }
    entries() {
      this.#check("entries", 0, 0);
      return makeIterator(this, "URLSearchParams Iterator", paramsInternals.list, ([k, v]) => [k, v]);
    }
    toString() {
      this.#check("toString", 0, 0);
      return serializeUrlencoded(this.#list);
    }
  }
  URLSearchParams.prototype[Symbol.iterator] = URLSearchParams.prototype.entries;
  Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, { enumerable: false });
  setToStringTag(URLSearchParams, "URLSearchParams");
  internals.URLSearchParams = URLSearchParams;
  internals.isURLSearchParams = paramsInternals.is;
  internals.searchParamsList = paramsInternals.list;

  // Live iterators over a list that can change while iterating, like Web IDL pair iterators:
  // they re-read the list length on every step.
  const iteratorProtos = new Map();
  function makeIterator(owner, tag, getList, project) {
    let proto = iteratorProtos.get(tag);
    if (!proto) {
      proto = Object.create(Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())), {
        next: {
          value: function next() {
            const state = iteratorState.get(this);
            if (!state) throw illegalInvocation();
            const list = state.getList(state.owner);
            if (state.index >= list.length) return { value: undefined, done: true };
            return { value: state.project(list[state.index++]), done: false };
          },
          writable: true,
          configurable: true,
        },
        [Symbol.toStringTag]: { value: tag, configurable: true },
      });
      iteratorProtos.set(tag, proto);
    }
    const iter = Object.create(proto);
    iteratorState.set(iter, { owner, getList, project, index: 0 });
    return iter;
  }
  const iteratorState = new WeakMap();
  internals.makeIterator = makeIterator;

  let urlInternals;

  class URL {
    #parts;
    #params = null;

    constructor(url, base = undefined) {
      if (arguments.length === 0) {
        throw new TypeError("Failed to construct 'URL': 1 argument required, but only 0 present.");
      }
      const parts = base === undefined ? ops.op_url_parse(toUSV(url)) : ops.op_url_parse(toUSV(url), toUSV(base));
      if (parts === null) throw new TypeError(`Invalid URL string.`);
      this.#parts = parts;
    }

    static {
      urlInternals = {
        setQueryFromParams(url, query) {
          const parts = ops.op_url_set(url.#parts[HREF], "search", query);
          if (parts !== null) url.#parts = parts;
        },
      };
    }

    static canParse(url, base = undefined) {
      if (arguments.length === 0) {
        throw new TypeError("Failed to execute 'canParse' on 'URL': 1 argument required, but only 0 present.");
      }
      return (base === undefined ? ops.op_url_parse(toUSV(url)) : ops.op_url_parse(toUSV(url), toUSV(base))) !== null;
    }

    static parse(url, base = undefined) {
      if (arguments.length === 0) {
        throw new TypeError("Failed to execute 'parse' on 'URL': 1 argument required, but only 0 present.");
      }
      try {
        return new URL(url, base);
      } catch {
        return null;
      }
    }

    #check() {
      if (!(#parts in this)) throw illegalInvocation();
    }
    #set(component, value) {
      this.#check();
      const parts = ops.op_url_set(this.#parts[HREF], component, toUSV(value));
      if (parts === null) {
        if (component === "href") throw new TypeError("Invalid URL string.");
        return;
      }
      this.#parts = parts;
      if (this.#params !== null && (component === "href" || component === "search")) {
        paramsInternals.reset(this.#params, parts[SEARCH].slice(1));
      }
    }

    get href() { this.#check(); return this.#parts[HREF]; }
    set href(v) { this.#set("href", v); }
    get origin() { this.#check(); return this.#parts[ORIGIN]; }
    get protocol() { this.#check(); return this.#parts[PROTOCOL]; }
    set protocol(v) { this.#set("protocol", v); }
    get username() { this.#check(); return this.#parts[USERNAME]; }
    set username(v) { this.#set("username", v); }
    get password() { this.#check(); return this.#parts[PASSWORD]; }
    set password(v) { this.#set("password", v); }
    get host() { this.#check(); return this.#parts[HOST]; }
    set host(v) { this.#set("host", v); }
    get hostname() { this.#check(); return this.#parts[HOSTNAME]; }
    set hostname(v) { this.#set("hostname", v); }
    get port() { this.#check(); return this.#parts[PORT]; }
    set port(v) { this.#set("port", v); }
    get pathname() { this.#check(); return this.#parts[PATHNAME]; }
    set pathname(v) { this.#set("pathname", v); }
    get search() { this.#check(); return this.#parts[SEARCH]; }
    set search(v) { this.#set("search", v); }
    get hash() { this.#check(); return this.#parts[HASH]; }
    set hash(v) { this.#set("hash", v); }
    get searchParams() {
      this.#check();
      if (this.#params === null) {
        this.#params = new URLSearchParams(this.#parts[SEARCH]);
        paramsInternals.attach(this.#params, this);
      }
      return this.#params;
    }
    toString() { this.#check(); return this.#parts[HREF]; }
    toJSON() { this.#check(); return this.#parts[HREF]; }
  }
  setToStringTag(URL, "URL");
  internals.URL = URL;

  internals.registerInspector(URL, (u) => ({
    props: ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname",
      "search", "searchParams", "hash"].map((k) => [k, u[k]]),
  }));
  internals.registerInspector(URLSearchParams, (p) => ({ pairs: paramsInternals.list(p) }));

  defineGlobal("URL", URL);
  defineGlobal("URLSearchParams", URLSearchParams);
})
