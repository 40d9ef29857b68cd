(function (ops, internals) {
  "use strict";

  const { defineGlobal } = internals;

  // Rendering follows Node's util.inspect defaults (depth 2, compact 3, breakLength 80), which
  // is what workerd prints too, so logs read the same as under wrangler.
  const BREAK_LENGTH = 80;
  const MAX_ARRAY_LENGTH = 100;
  const MAX_STRING_LENGTH = 10000;

  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
  const objectToString = Object.prototype.toString;
  const errorToString = Error.prototype.toString;
  const dateToISO = Date.prototype.toISOString;
  const dateGetTime = Date.prototype.getTime;
  const regexpToString = RegExp.prototype.toString;
  const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, "size").get;
  const setSize = Object.getOwnPropertyDescriptor(Set.prototype, "size").get;
  const mapEntries = Map.prototype.entries;
  const setValues = Set.prototype.values;
  const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;

  function tagOf(value) {
    return objectToString.call(value).slice(8, -1);
  }
  function isMap(v) { try { mapSize.call(v); return true; } catch { return false; } }
  function isSet(v) { try { setSize.call(v); return true; } catch { return false; } }
  function isDate(v) { try { dateGetTime.call(v); return true; } catch { return false; } }
  function isArrayBuffer(v) { try { arrayBufferByteLength.call(v); return true; } catch { return false; } }
  function isTypedArray(v) { return typedArrayTag.call(v) !== undefined; }
  function isRegExp(v) { return tagOf(v) === "RegExp" && typeof v.source === "string"; }

  const identifierRe = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
  const escapes = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\\": "\\\\" };

  function quote(str) {
    let q = "'";
    if (str.includes("'")) {
      if (!str.includes('"')) q = '"';
      else if (!str.includes("`") && !str.includes("${")) q = "`";
    }
    let out = "";
    for (const ch of str) {
      if (ch === q) out += "\\" + ch;
      else if (escapes[ch]) out += escapes[ch];
      else if (ch < " " || ch === "\x7f") out += "\\x" + ch.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase();
      else out += ch;
    }
    return q + out + q;
  }

  function formatNumber(n) {
    return Object.is(n, -0) ? "-0" : String(n);
  }

  function formatPrimitive(value) {
    switch (typeof value) {
      case "string": {
        const extra = value.length > MAX_STRING_LENGTH ? value.length - MAX_STRING_LENGTH : 0;
        const shown = extra ? value.slice(0, MAX_STRING_LENGTH) : value;
        return quote(shown) + (extra ? `... ${extra} more character${extra > 1 ? "s" : ""}` : "");
      }
      case "number": return formatNumber(value);
      case "bigint": return `${value}n`;
      case "symbol": return value.toString();
      case "undefined": return "undefined";
      default: return String(value);
    }
  }

  function formatKey(key) {
    if (typeof key === "symbol") return `[${key.toString()}]`;
    return identifierRe.test(key) ? key : quote(key);
  }

  function constructorName(obj) {
    let proto = obj;
    while (proto !== null) {
      const desc = Object.getOwnPropertyDescriptor(proto, "constructor");
      if (desc && typeof desc.value === "function" && desc.value.name !== "") return desc.value.name;
      proto = Object.getPrototypeOf(proto);
    }
    return null;
  }

  function functionBase(fn, ctorName) {
    let source = "";
    try { source = Function.prototype.toString.call(fn); } catch { source = ""; }
    const name = fn.name ? `: ${fn.name}` : " (anonymous)";
    if (source.startsWith("class") && /^class\b/.test(source)) {
      const parent = Object.getPrototypeOf(fn);
      const ext = typeof parent === "function" && parent.name ? ` extends ${parent.name}` : "";
      return `[class ${fn.name || "(anonymous)"}${ext}]`;
    }
    let kind = "Function";
    const tag = tagOf(fn);
    if (tag === "AsyncFunction" || tag === "GeneratorFunction" || tag === "AsyncGeneratorFunction") kind = tag;
    let base = `[${kind}${name}]`;
    if (ctorName !== null && ctorName !== kind && ctorName !== "Function") base += ` ${ctorName}`;
    return base;
  }

  function errorBase(err) {
    let stack = "";
    try { stack = err.stack; } catch { stack = ""; }
    if (typeof stack === "string" && stack !== "") return stack;
    let text;
    try { text = errorToString.call(err); } catch { text = "Error"; }
    return `[${text}]`;
  }

  function formatValue(ctx, value, level, typed) {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      return formatPrimitive(value);
    }
    if (ctx.seen.includes(value)) {
      let id = ctx.circular.get(value);
      if (id === undefined) {
        id = ctx.circular.size + 1;
        ctx.circular.set(value, id);
      }
      return `[Circular *${id}]`;
    }
    return formatRaw(ctx, value, level, typed);
  }

  function ownEntries(ctx, obj, level, skip) {
    const out = [];
    for (const key of Reflect.ownKeys(obj)) {
      if (skip && skip(key)) continue;
      const desc = Object.getOwnPropertyDescriptor(obj, key);
      if (!desc || !desc.enumerable) continue;
      out.push(formatProperty(ctx, desc, key, level));
    }
    return out;
  }

  function formatProperty(ctx, desc, key, level) {
    let str;
    if ("value" in desc) {
      ctx.indentLvl += 2;
      str = formatValue(ctx, desc.value, level + 1);
      ctx.indentLvl -= 2;
    } else if (desc.get) {
      str = desc.set ? "[Getter/Setter]" : "[Getter]";
    } else {
      str = desc.set ? "[Setter]" : "undefined";
    }
    return `${formatKey(key)}: ${str}`;
  }

  function formatList(ctx, list, level, length) {
    const out = [];
    const shown = Math.min(length, MAX_ARRAY_LENGTH);
    let holes = 0;
    const flushHoles = () => {
      if (holes) out.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
      holes = 0;
    };
    for (let i = 0; i < shown; i++) {
      if (!Object.prototype.hasOwnProperty.call(list, i)) { holes++; continue; }
      flushHoles();
      ctx.indentLvl += 2;
      out.push(formatValue(ctx, list[i], level + 1));
      ctx.indentLvl -= 2;
    }
    flushHoles();
    if (length > shown) out.push(`... ${length - shown} more item${length - shown > 1 ? "s" : ""}`);
    return out;
  }

  // Platform classes keep their state in private fields, invisible to a generic walk; each
  // registers how it wants to be shown: { props: [[key, value]] } renders `Name { key: value }`,
  // { pairs: [[k, v]] } renders `Name { k => v }`.
  const inspectors = new Map();
  internals.registerInspector = (ctor, view) => inspectors.set(ctor.prototype, view);
  function findInspector(value) {
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const view = inspectors.get(proto);
      if (view) return view;
    }
    return undefined;
  }

  const isIndexKey = (key) => typeof key === "string" && /^(0|[1-9][0-9]*)$/.test(key);

  function formatRaw(ctx, value, level) {
    const ctorName = constructorName(value);
    let tag = value[Symbol.toStringTag];
    if (typeof tag !== "string" || tag === ctorName) tag = "";
    const prefixOf = (fallback, size) => {
      const name = ctorName ?? `[${fallback}: null prototype]`;
      const sized = size === undefined ? name : `${name}(${size})`;
      return tag ? `${sized} [${tag}]` : sized;
    };

    let base = "";
    let braces = ["{", "}"];
    let entries;
    let isArrayLike = false;
    let empty = false;
    const tooDeep = level > ctx.depth;

    if (Array.isArray(value)) {
      const prefix = ctorName === "Array" && !tag ? "" : prefixOf("Array", value.length) + " ";
      if (value.length === 0 && Object.keys(value).length === 0) return `${prefix}[]`;
      if (tooDeep) return "[Array]";
      braces = [`${prefix}[`, "]"];
      isArrayLike = true;
      ctx.seen.push(value);
      entries = formatList(ctx, value, level, value.length);
      entries.push(...ownEntries(ctx, value, level, (k) => isIndexKey(k) || k === "length"));
    } else if (typeof value === "function") {
      base = functionBase(value, ctorName);
      const keys = Object.keys(value);
      if (keys.length === 0) return base;
      if (tooDeep) return base;
      ctx.seen.push(value);
      entries = ownEntries(ctx, value, level);
    } else if (isTypedArray(value)) {
      const length = value.length;
      const prefix = prefixOf(typedArrayTag.call(value), length);
      if (length === 0) return `${prefix} []`;
      if (tooDeep) return `[${typedArrayTag.call(value)}]`;
      braces = [`${prefix} [`, "]"];
      isArrayLike = true;
      ctx.seen.push(value);
      entries = [];
      const shown = Math.min(length, MAX_ARRAY_LENGTH);
      for (let i = 0; i < shown; i++) entries.push(formatPrimitive(value[i]));
      if (length > shown) entries.push(`... ${length - shown} more item${length - shown > 1 ? "s" : ""}`);
    } else if (isMap(value)) {
      const prefix = prefixOf("Map", mapSize.call(value));
      if (mapSize.call(value) === 0 && Object.keys(value).length === 0) return `${prefix} {}`;
      if (tooDeep) return `[${ctorName ?? "Map"}]`;
      braces = [`${prefix} {`, "}"];
      ctx.seen.push(value);
      entries = [];
      ctx.indentLvl += 2;
      for (const [k, v] of mapEntries.call(value)) {
        entries.push(`${formatValue(ctx, k, level + 1)} => ${formatValue(ctx, v, level + 1)}`);
      }
      ctx.indentLvl -= 2;
      entries.push(...ownEntries(ctx, value, level));
    } else if (isSet(value)) {
      const prefix = prefixOf("Set", setSize.call(value));
      if (setSize.call(value) === 0 && Object.keys(value).length === 0) return `${prefix} {}`;
      if (tooDeep) return `[${ctorName ?? "Set"}]`;
      braces = [`${prefix} {`, "}"];
      ctx.seen.push(value);
      entries = [];
      ctx.indentLvl += 2;
      for (const v of setValues.call(value)) entries.push(formatValue(ctx, v, level + 1));
      ctx.indentLvl -= 2;
      entries.push(...ownEntries(ctx, value, level));
    } else {
      const kind = tagOf(value);
      if (value instanceof Error || kind === "Error") {
        base = errorBase(value);
        if (ctx.indentLvl) base = base.split("\n").join("\n" + " ".repeat(ctx.indentLvl));
        const keys = Object.keys(value).filter((k) => k !== "stack" && k !== "message");
        if (keys.length === 0) return base;
        if (tooDeep) return `[${errorToString.call(value)}]`;
        ctx.seen.push(value);
        entries = ownEntries(ctx, value, level, (k) => k === "stack" || k === "message");
      } else if (isDate(value)) {
        base = Number.isNaN(dateGetTime.call(value)) ? "Invalid Date" : dateToISO.call(value);
        if (Object.keys(value).length === 0) return base;
        ctx.seen.push(value);
        entries = ownEntries(ctx, value, level);
      } else if (isRegExp(value)) {
        base = regexpToString.call(value);
        if (Object.keys(value).length === 0) return base;
        ctx.seen.push(value);
        entries = ownEntries(ctx, value, level, (k) => k === "lastIndex");
      } else if (isArrayBuffer(value)) {
        if (tooDeep) return `[${ctorName ?? "ArrayBuffer"}]`;
        const bytes = new Uint8Array(value, 0, Math.min(value.byteLength, 50));
        let hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
        if (value.byteLength > 50) hex += ` ... ${value.byteLength - 50} more byte${value.byteLength - 50 > 1 ? "s" : ""}`;
        braces = [`${prefixOf("ArrayBuffer")} {`, "}"];
        ctx.seen.push(value);
        entries = [`[Uint8Contents]: <${hex}>`, `byteLength: ${value.byteLength}`];
      } else if (kind === "Promise") {
        braces = [`${prefixOf("Promise")} {`, "}"];
        if (tooDeep) return `[${ctorName ?? "Promise"}]`;
        ctx.seen.push(value);
        entries = ownEntries(ctx, value, level);
        if (entries.length === 0) empty = true;
      } else if (findInspector(value)) {
        if (tooDeep) return `[${ctorName}]`;
        const view = findInspector(value)(value);
        braces = [`${ctorName} {`, "}"];
        ctx.seen.push(value);
        ctx.indentLvl += 2;
        entries = view.props
          ? view.props.map(([k, v]) => `${formatKey(k)}: ${formatValue(ctx, v, level + 1)}`)
          : view.pairs.map(([k, v]) => `${formatValue(ctx, k, level + 1)} => ${formatValue(ctx, v, level + 1)}`);
        ctx.indentLvl -= 2;
        if (entries.length === 0) empty = true;
      } else if (kind === "WeakMap" || kind === "WeakSet") {
        return `${prefixOf(kind)} { <items unknown> }`;
      } else if (kind === "Number" || kind === "String" || kind === "Boolean" || kind === "BigInt" || kind === "Symbol") {
        const prim = value.valueOf();
        base = `[${kind}${ctorName && ctorName !== kind ? ` (${ctorName})` : ""}: ${formatPrimitive(prim)}]`;
        const skip = kind === "String" ? (k) => isIndexKey(k) || k === "length" : undefined;
        ctx.seen.push(value);
        entries = ownEntries(ctx, value, level, skip);
        if (entries.length === 0) {
          ctx.seen.pop();
          return base;
        }
      } else if (kind === "Arguments") {
        braces = ["[Arguments] [", "]"];
        if (tooDeep) return "[Arguments]";
        isArrayLike = true;
        ctx.seen.push(value);
        entries = formatList(ctx, value, level, value.length);
      } else {
        const iterTag = kind.endsWith(" Iterator") ? kind : "";
        if (iterTag) {
          braces = [`Object [${iterTag}] {`, "}"];
        } else if (ctorName === "Object" && !tag) {
          braces = ["{", "}"];
        } else {
          braces = [`${prefixOf("Object")} {`, "}"];
        }
        if (tooDeep) return `[${ctorName ?? (tag || "Object")}]`;
        ctx.seen.push(value);
        entries = ownEntries(ctx, value, level);
        if (entries.length === 0) {
          empty = true;
        }
      }
    }
    ctx.seen.pop();
    ctx.lastLevel = Math.max(ctx.lastLevel, level);

    let result;
    if (empty) {
      result = braces[0] === "{" ? "{}" : `${braces[0]}}`;
    } else {
      result = joinEntries(ctx, entries, base, braces, level, isArrayLike);
    }
    const id = ctx.circular.get(value);
    if (id !== undefined) result = `<ref *${id}> ${result}`;
    return result;
  }

  function joinEntries(ctx, entries, base, braces, level, isArrayLike) {
    const count = entries.length;
    if (isArrayLike && count > 6) entries = groupColumns(ctx, entries);
    const opening = base ? `${base} ${braces[0]}` : braces[0];
    // Objects nesting more than three levels of objects never go on one line, nor do arrays
    // laid out in columns; otherwise the entries are joined when they fit in the break length.
    if (ctx.lastLevel - level < 3 && entries.length === count && !entries.some((e) => e.includes("\n"))) {
      const start = entries.length + ctx.indentLvl + braces[0].length + base.length + 10;
      const total = entries.reduce((sum, e) => sum + e.length, 0) + entries.length + start;
      if (total + entries.length <= BREAK_LENGTH && !base.includes("\n")) {
        return `${opening} ${entries.join(", ")} ${braces[1]}`;
      }
    }
    const indent = "\n" + " ".repeat(ctx.indentLvl);
    return `${opening}${indent}  ${entries.join(`,${indent}  `)}${indent}${braces[1]}`;
  }

  // Long arrays of short items are laid out in aligned columns with the same sizing heuristic
  // as Node, so a list of 100 numbers takes a handful of lines instead of a hundred.
  function groupColumns(ctx, entries) {
    const tail = entries.length && entries[entries.length - 1].startsWith("... ") ? entries.pop() : undefined;
    const lengths = entries.map((e) => e.length);
    const maxLength = Math.max(...lengths) + 2;
    const totalLength = lengths.reduce((a, b) => a + b + 2, 0);
    const result = entries;
    if (maxLength * 3 + ctx.indentLvl < BREAK_LENGTH && (totalLength / maxLength > 5 || maxLength - 2 <= 6)) {
      const bias = Math.sqrt(maxLength - totalLength / entries.length);
      const biased = Math.max(maxLength - 3 - bias, 1);
      const columns = Math.min(
        Math.round(Math.sqrt(2.5 * biased * entries.length) / biased),
        Math.floor((BREAK_LENGTH - ctx.indentLvl) / maxLength),
        12,
      );
      if (columns > 1) {
        const widths = [];
        for (let c = 0; c < columns; c++) {
          let w = 0;
          for (let j = c; j < entries.length; j += columns) w = Math.max(w, lengths[j]);
          widths.push(w + 2);
        }
        const numeric = entries.every((e) => /^-?[0-9.e+n]+$|^NaN$|^-?Infinity$/.test(e));
        const rows = [];
        for (let i = 0; i < entries.length; i += columns) {
          const end = Math.min(i + columns, entries.length);
          let row = "";
          for (let j = i; j < end - 1; j++) {
            const cell = `${entries[j]}, `;
            row += numeric ? cell.padStart(widths[j - i]) : cell.padEnd(widths[j - i]);
          }
          row += numeric ? entries[end - 1].padStart(widths[end - 1 - i] - 2) : entries[end - 1];
          rows.push(row);
        }
        if (tail) rows.push(tail);
        return rows;
      }
    }
    if (tail) result.push(tail);
    return result;
  }

  function inspect(value, options = {}) {
    const ctx = {
      depth: options.depth ?? 2,
      seen: [],
      circular: new Map(),
      indentLvl: 0,
      lastLevel: 0,
    };
    let out = formatValue(ctx, value, 0);
    // A circular reference is only known once the whole object was walked, so the top-level
    // value is rendered again when it turned out to be referenced from inside itself.
    if (ctx.circular.size && !out.startsWith("<ref *") && ctx.circular.has(value)) {
      ctx.seen = [];
      ctx.lastLevel = 0;
      out = formatValue(ctx, value, 0);
    }
    return out;
  }
  internals.inspect = inspect;

  function hasOwnToString(obj) {
    let proto = obj;
    while (proto !== null && proto !== Object.prototype && proto !== Error.prototype) {
      if (Object.prototype.hasOwnProperty.call(proto, "toString")) return true;
      proto = Object.getPrototypeOf(proto);
    }
    return false;
  }

  function formatLogArgs(args) {
    const first = args[0];
    let out = "";
    let next = 0;
    if (typeof first === "string" && args.length > 1) {
      next = 1;
      let last = 0;
      for (let i = 0; i < first.length - 1; i++) {
        if (first[i] !== "%") continue;
        const spec = first[i + 1];
        if (spec === "%") {
          out += first.slice(last, i) + "%";
          last = i + 2;
          i++;
          continue;
        }
        if (!"sdifjoOc".includes(spec)) continue;
        if (next >= args.length) continue;
        const arg = args[next++];
        let rendered;
        switch (spec) {
          case "s":
            if (typeof arg === "bigint") rendered = `${arg}n`;
            else if (typeof arg === "number") rendered = formatNumber(arg);
            else if (typeof arg === "symbol") rendered = arg.toString();
            else if (arg !== null && typeof arg === "object" && !hasOwnToString(arg)) rendered = inspect(arg, { depth: 0 });
            else rendered = String(arg);
            break;
          case "d":
            if (typeof arg === "bigint") rendered = `${arg}n`;
            else if (typeof arg === "symbol" || (arg !== null && typeof arg === "object")) rendered = "NaN";
            else rendered = formatNumber(Number(arg));
            break;
          case "i":
            if (typeof arg === "bigint") rendered = `${arg}n`;
            else if (typeof arg === "symbol") rendered = "NaN";
            else rendered = formatNumber(parseInt(arg));
            break;
          case "f":
            rendered = typeof arg === "symbol" ? "NaN" : formatNumber(parseFloat(arg));
            break;
          case "j":
            try {
              rendered = JSON.stringify(arg);
            } catch (err) {
              if (err instanceof TypeError && /circular/i.test(err.message)) rendered = "[Circular]";
              else throw err;
            }
            break;
          case "o":
            rendered = inspect(arg, { depth: 4 });
            break;
          case "O":
            rendered = inspect(arg);
            break;
          case "c":
            rendered = "";
            break;
        }
        out += first.slice(last, i) + rendered;
        last = i + 2;
        i++;
      }
      out += first.slice(last);
    }
    for (; next < args.length; next++) {
      const arg = args[next];
      if (out !== "" || next > 0) out += " ";
      out += typeof arg === "string" ? arg : inspect(arg);
    }
    return out;
  }
  internals.formatLogArgs = formatLogArgs;

  let groupIndent = "";
  const counts = new Map();
  const timers = new Map();

  function emit(level, text) {
    if (groupIndent) text = groupIndent + text.split("\n").join("\n" + groupIndent);
    ops.op_log(level, text);
  }

  function renderTable(data, columns) {
    if (data === null || typeof data !== "object") return formatLogArgs([data]);
    const rows = [];
    const keys = [];
    const addKey = (k) => { if (!keys.includes(k)) keys.push(k); };
    let hasValues = false;
    const entries = isMap(data)
      ? [...mapEntries.call(data)]
      : isSet(data) ? [...setValues.call(data)].map((v, i) => [i, v]) : Object.entries(data);
    const indexHeader = isMap(data) ? "(iteration index)" : "(index)";
    for (const [index, row] of entries) {
      const cells = {};
      if (row !== null && typeof row === "object") {
        for (const k of Object.keys(row)) {
          if (columns && !columns.includes(k)) continue;
          addKey(k);
          cells[k] = inspect(row[k], { depth: 0 });
        }
      } else {
        hasValues = true;
        cells["\0value"] = inspect(row, { depth: 0 });
      }
      rows.push([typeof index === "string" ? index : inspect(index), cells]);
    }
    const header = [indexHeader, ...keys, ...(hasValues ? ["Values"] : [])];
    const table = rows.map(([index, cells]) => [
      index,
      ...keys.map((k) => cells[k] ?? ""),
      ...(hasValues ? [cells["\0value"] ?? ""] : []),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)) + 2);
    const cell = (s, w) => " " + s + " ".repeat(w - s.length - 1);
    const line = (l, m, r) => l + widths.map((w) => "─".repeat(w)).join(m) + r;
    const out = [
      line("┌", "┬", "┐"),
      "│" + header.map((h, i) => cell(h, widths[i])).join("│") + "│",
      line("├", "┼", "┤"),
      ...table.map((r) => "│" + r.map((c, i) => cell(c, widths[i])).join("│") + "│"),
      line("└", "┴", "┘"),
    ];
    return out.join("\n");
  }

  const console = {
    log(...args) { emit("log", formatLogArgs(args)); },
    info(...args) { emit("info", formatLogArgs(args)); },
    debug(...args) { emit("debug", formatLogArgs(args)); },
    warn(...args) { emit("warn", formatLogArgs(args)); },
    error(...args) { emit("error", formatLogArgs(args)); },
    trace(...args) {
      const holder = {};
      Error.captureStackTrace(holder, console.trace);
      const frames = String(holder.stack).split("\n").slice(1).join("\n");
      emit("log", `Trace${args.length ? ": " + formatLogArgs(args) : ""}\n${frames}`);
    },
    assert(condition, ...args) {
      if (condition) return;
      if (typeof args[0] === "string") args[0] = `Assertion failed: ${args[0]}`;
      else args.unshift("Assertion failed");
      emit("error", formatLogArgs(args));
    },
    dir(value, options = undefined) {
      emit("log", inspect(value, { depth: options?.depth ?? 2 }));
    },
    dirxml(...args) { emit("log", formatLogArgs(args)); },
    table(data, columns = undefined) {
      emit("log", renderTable(data, Array.isArray(columns) ? columns.map(String) : undefined));
    },
    count(label = "default") {
      label = String(label);
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      emit("info", `${label}: ${n}`);
    },
    countReset(label = "default") {
      label = String(label);
      if (counts.has(label)) counts.set(label, 0);
      else emit("warn", `Count for '${label}' does not exist`);
    },
    group(...args) {
      if (args.length) emit("log", formatLogArgs(args));
      groupIndent += "  ";
    },
    groupCollapsed(...args) { console.group(...args); },
    groupEnd() { groupIndent = groupIndent.slice(0, -2); },
    time(label = "default") {
      label = String(label);
      if (timers.has(label)) { emit("warn", `Label '${label}' already exists for console.time()`); return; }
      timers.set(label, ops.op_now());
    },
    timeEnd(label = "default") {
      label = String(label);
      if (!timers.has(label)) { emit("warn", `No such label '${label}' for console.timeEnd()`); return; }
      emit("info", `${label}: ${formatDuration(ops.op_now() - timers.get(label))}`);
      timers.delete(label);
    },
    timeLog(label = "default", ...args) {
      label = String(label);
      if (!timers.has(label)) { emit("warn", `No such label '${label}' for console.timeLog()`); return; }
      const extra = args.length ? " " + formatLogArgs(args) : "";
      emit("info", `${label}: ${formatDuration(ops.op_now() - timers.get(label))}${extra}`);
    },
  };

  function formatDuration(ms) {
    if (ms >= 1000) return `${(ms / 1000).toFixed(3)}s`;
    return `${ms.toFixed(3)}ms`;
  }

  Object.defineProperty(console, Symbol.toStringTag, { value: "console", configurable: true });
  for (const key of Object.keys(console)) {
    Object.defineProperty(console, key, { enumerable: true });
  }
  defineGlobal("console", console);
})
