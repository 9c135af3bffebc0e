// Guest runtime, part 1: value inspection modelled on Node's util.inspect and util.format.
// Runs inside the isolate only and must never call into the host. It reads properties through descriptors so
// getters do not run; a value whose inspection throws is shown as a placeholder instead of failing the caller.
(function installInspect(runtime) {
  const { reduceToSingleString } = runtime;
  const { apply, defineProperty, getOwnPropertyDescriptor, getPrototypeOf, ownKeys } = Reflect;
  const { isArray } = Array;
  const { isView } = ArrayBuffer;
  const errorToString = Error.prototype.toString;
  const functionToString = Function.prototype.toString;
  const symbolToString = Symbol.prototype.toString;
  const dateToISOString = Date.prototype.toISOString;
  const dateGetTime = Date.prototype.getTime;
  const regexpToString = RegExp.prototype.toString;
  const mapEntries = Map.prototype.entries;
  const mapSize = getOwnPropertyDescriptor(Map.prototype, 'size').get;
  const setValues = Set.prototype.values;
  const setSize = getOwnPropertyDescriptor(Set.prototype, 'size').get;
  const typedArrayProto = getPrototypeOf(Uint8Array.prototype);
  const typedLength = getOwnPropertyDescriptor(typedArrayProto, 'length').get;
  const typedTag = getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag).get;
  const bufferByteLength = getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const BOXES = [
    ['Number', Number.prototype.valueOf],
    ['String', String.prototype.valueOf],
    ['Boolean', Boolean.prototype.valueOf],
    ['BigInt', BigInt.prototype.valueOf],
    ['Symbol', Symbol.prototype.valueOf],
  ];
  const { min } = Math;
  const KEY_IDENTIFIER = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
  const MAX_ARRAY = 100;
  const MAX_STRING = 10_000;
  const ESCAPES = {
    '\n': '\\n',
    '\t': '\\t',
    '\r': '\\r',
    '\b': '\\b',
    '\f': '\\f',
    '\v': '\\v',
    '\\': '\\\\',
  };

  function quote(str) {
    let q = "'";
    if (str.includes("'")) {
      if (!str.includes('"')) q = '"';
      else if (!str.includes('`') && !str.includes('${')) q = '`';
    }
    let out = '';
    for (const ch of str) {
      const code = ch.codePointAt(0);
      if (ch === q) out += `\\${q}`;
      else if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
      else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0').toUpperCase()}`;
      else out += ch;
    }
    return q + out + q;
  }

  function formatNumber(n) {
    return Object.is(n, -0) ? '-0' : `${n}`;
  }

  function formatPrimitive(value, nested) {
    switch (typeof value) {
      case 'string':
        if (!nested) return value;
        if (value.length > MAX_STRING) {
          return `${quote(value.slice(0, MAX_STRING))}... ${value.length - MAX_STRING} more characters`;
        }
        return quote(value);
      case 'number':
        return formatNumber(value);
      case 'bigint':
        return `${value}n`;
      case 'symbol':
        return apply(symbolToString, value, []);
      default:
        return `${value}`;
    }
  }

  function formatKey(key) {
    if (typeof key === 'symbol') return apply(symbolToString, key, []);
    return KEY_IDENTIFIER.test(key) ? key : quote(key);
  }

  function constructorName(obj) {
    let proto = obj;
    while (proto !== null) {
      const desc = getOwnPropertyDescriptor(proto, 'constructor');
      if (desc !== undefined && typeof desc.value === 'function') {
        const name = getOwnPropertyDescriptor(desc.value, 'name');
        if (name !== undefined && typeof name.value === 'string' && name.value !== '') return name.value;
      }
      proto = getPrototypeOf(proto);
    }
    return null;
  }

  function functionBase(fn) {
    const source = apply(functionToString, fn, []);
    const nameDesc = getOwnPropertyDescriptor(fn, 'name');
    const name = nameDesc && typeof nameDesc.value === 'string' ? nameDesc.value : '';
    if (source.startsWith('class') && /^class\b/.test(source)) {
      const parent = getPrototypeOf(fn);
      const ext = typeof parent === 'function' && parent.name ? ` extends ${parent.name}` : '';
      return `[class ${name || '(anonymous)'}${ext}]`;
    }
    const kind = constructorName(fn) || 'Function';
    return name ? `[${kind}: ${name}]` : `[${kind} (anonymous)]`;
  }

  function tryBrand(fn, value) {
    try {
      apply(fn, value, []);
      return true;
    } catch {
      return false;
    }
  }

  function propertyOutput(ctx, obj, key, recurse, isArrayItem) {
    const desc = getOwnPropertyDescriptor(obj, key);
    if (desc === undefined) return null;
    let str;
    if ('value' in desc) {
      ctx.indentationLvl += 2;
      str = formatValue(ctx, desc.value, recurse + 1, true);
      ctx.indentationLvl -= 2;
    } else if (desc.get !== undefined) {
      str = desc.set !== undefined ? '[Getter/Setter]' : '[Getter]';
    } else {
      str = desc.set !== undefined ? '[Setter]' : 'undefined';
    }
    return isArrayItem ? str : `${formatKey(key)}: ${str}`;
  }

  function visibleKeys(obj, skip) {
    const keys = [];
    for (const key of ownKeys(obj)) {
      if (skip?.(key)) continue;
      const desc = getOwnPropertyDescriptor(obj, key);
      if (desc?.enumerable) keys.push(key);
    }
    return keys;
  }

  function formatArrayItems(ctx, arr, length, recurse) {
    const output = [];
    let holes = 0;
    const shown = min(length, MAX_ARRAY);
    const flushHoles = () => {
      if (holes > 0) output.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
      holes = 0;
    };
    for (let i = 0; i < shown; i += 1) {
      if (getOwnPropertyDescriptor(arr, `${i}`) === undefined) {
        holes += 1;
        continue;
      }
      flushHoles();
      output.push(propertyOutput(ctx, arr, `${i}`, recurse, true));
    }
    flushHoles();
    if (length > shown) output.push(`... ${length - shown} more item${length - shown > 1 ? 's' : ''}`);
    return output;
  }

  function isIndexKey(key) {
    return typeof key === 'string' && /^(0|[1-9][0-9]*)$/.test(key);
  }

  // The shape of a value: its prefix, braces, the entries inside them, and whether it is an array-like list.
  /** A Map or Set as `head { … }`: its entries, which `itemsOf` formats one indentation level deeper. */
  function collection(ctx, value, head, itemsOf) {
    ctx.indentationLvl += 2;
    const items = itemsOf();
    ctx.indentationLvl -= 2;
    return { braces: [`${head} {`, '}'], items, keys: visibleKeys(value) };
  }

  function describe(ctx, value, recurse) {
    const name = constructorName(value);
    if (isArray(value)) {
      const prefix = name === 'Array' ? '' : `${name ?? '[Array: null prototype]'}(${value.length}) `;
      const items = formatArrayItems(ctx, value, value.length, recurse);
      return { braces: [`${prefix}[`, ']'], items, list: true, keys: visibleKeys(value, isIndexKey) };
    }
    if (isView(value) && tryBrand(typedLength, value)) {
      const length = apply(typedLength, value, []);
      const items = [];
      for (let i = 0; i < min(length, MAX_ARRAY); i += 1) items.push(formatPrimitive(value[i], true));
      if (length > MAX_ARRAY) items.push(`... ${length - MAX_ARRAY} more items`);
      const braces = [`${apply(typedTag, value, [])}(${length}) [`, ']'];
      return { braces, items, list: true, keys: visibleKeys(value, isIndexKey) };
    }
    if (tryBrand(mapSize, value)) {
      return collection(ctx, value, `${name ?? 'Map'}(${apply(mapSize, value, [])})`, () => {
        const items = [];
        for (const [k, v] of apply(mapEntries, value, [])) {
          items.push(
            `${formatValue(ctx, k, recurse + 1, true)} => ${formatValue(ctx, v, recurse + 1, true)}`,
          );
        }
        return items;
      });
    }
    if (tryBrand(setSize, value)) {
      return collection(ctx, value, `${name ?? 'Set'}(${apply(setSize, value, [])})`, () => {
        const items = [];
        for (const v of apply(setValues, value, [])) items.push(formatValue(ctx, v, recurse + 1, true));
        return items;
      });
    }
    if (tryBrand(bufferByteLength, value)) {
      const bytes = new Uint8Array(value, 0, min(apply(bufferByteLength, value, []), 50));
      const hex = [];
      for (const b of bytes) hex.push(b.toString(16).padStart(2, '0'));
      const items = [
        `[Uint8Contents]: <${hex.join(' ')}>`,
        `byteLength: ${apply(bufferByteLength, value, [])}`,
      ];
      return { braces: ['ArrayBuffer {', '}'], items, keys: [] };
    }
    let base = '';
    let skip;
    if (value instanceof Error) {
      const stack = value.stack;
      base = typeof stack === 'string' && stack !== '' ? stack : `[${apply(errorToString, value, [])}]`;
      skip = (key) => key === 'stack' || key === 'message';
    } else if (tryBrand(dateGetTime, value)) {
      base = Number.isNaN(apply(dateGetTime, value, [])) ? 'Invalid Date' : apply(dateToISOString, value, []);
    } else if (value instanceof RegExp) {
      base = apply(regexpToString, value, []);
    } else if (typeof value === 'function') {
      base = functionBase(value);
    } else if (boxedKind(value) !== null) {
      const [kind, unboxed] = boxedKind(value);
      base = `[${kind}: ${formatPrimitive(unboxed, true)}]`;
      if (kind === 'String') skip = isIndexKey;
    } else if (value instanceof WeakMap || value instanceof WeakSet) {
      return { braces: [`${name} {`, '}'], items: ['<items unknown>'], keys: [] };
    }
    const keys = visibleKeys(value, skip);
    let prefix = '';
    if (base === '') {
      if (name === null) prefix = '[Object: null prototype] ';
      else if (name !== 'Object') prefix = `${name} `;
      const toStringTag = getOwnPropertyDescriptor(value, Symbol.toStringTag) ?? findTag(value);
      if (typeof toStringTag === 'string' && toStringTag !== '' && toStringTag !== name) {
        prefix = `${name ?? 'Object'} [${toStringTag}] `;
      }
    }
    return { braces: [`${prefix}{`, '}'], items: [], keys, base };
  }

  function boxedKind(value) {
    for (const [kind, unbox] of BOXES) {
      try {
        return [kind, apply(unbox, value, [])];
      } catch {}
    }
    return null;
  }

  function findTag(value) {
    let proto = getPrototypeOf(value);
    while (proto !== null) {
      const desc = getOwnPropertyDescriptor(proto, Symbol.toStringTag);
      if (desc !== undefined) return desc.value;
      proto = getPrototypeOf(proto);
    }
    return undefined;
  }

  function formatRaw(ctx, value, recurse) {
    if (ctx.seen.includes(value)) {
      if (!ctx.circular.has(value)) ctx.circular.set(value, ctx.circular.size + 1);
      return `[Circular *${ctx.circular.get(value)}]`;
    }
    if (recurse > ctx.depth) {
      if (isArray(value)) return '[Array]';
      const name = constructorName(value);
      return `[${name ?? 'Object: null prototype'}]`;
    }
    ctx.seen.push(value);
    ctx.currentDepth = recurse;
    let result;
    try {
      const shape = describe(ctx, value, recurse);
      const output = shape.items;
      for (const key of shape.keys) output.push(propertyOutput(ctx, value, key, recurse, false));
      const base = shape.base ?? '';
      if (base !== '' && output.length === 0) result = base;
      else if (output.length === 0) result = `${shape.braces[0]}${shape.braces[1]}`;
      else result = reduceToSingleString(ctx, output, base, shape.braces, shape.list, recurse, value);
    } finally {
      ctx.seen.pop();
    }
    const ref = ctx.circular.get(value);
    return ref === undefined ? result : `<ref *${ref}> ${result}`;
  }

  function formatValue(ctx, value, recurse, nested) {
    if ((typeof value !== 'object' || value === null) && typeof value !== 'function') {
      return formatPrimitive(value, nested);
    }
    try {
      return formatRaw(ctx, value, recurse);
    } catch {
      return '[Uninspectable]';
    }
  }

  function inspect(value, options) {
    const ctx = {
      seen: [],
      circular: new Map(),
      depth: options?.depth ?? 2,
      indentationLvl: 0,
      currentDepth: 0,
    };
    return formatValue(ctx, value, 0, true);
  }

  defineProperty(runtime, 'inspect', { value: inspect });
  defineProperty(runtime, 'formatNumber', { value: formatNumber });
  defineProperty(runtime, 'formatPrimitive', { value: formatPrimitive });
});
