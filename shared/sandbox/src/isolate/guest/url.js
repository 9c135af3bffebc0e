// Guest runtime, part 5: URL and URLSearchParams. Parsing and setters go through one copying host callback
// that takes strings and returns a plain record of the URL's parts (WHATWG parsing by the host's own URL);
// URLSearchParams is plain JavaScript inside the isolate. Installed on first use. Must never pass anything but
// strings to the host, and never one longer than the host takes (a copy of it would be made in the host first).
(function installUrl(runtime) {
  runtime.lazyPart(['URL', 'URLSearchParams'], () => {
    const { bridge } = runtime;
    const MAX_URL_CHARS = 1 << 20;
    const tooLong = (text) => text.length > MAX_URL_CHARS;
    const { TextDecoder, utf8Bytes } = runtime.encoding();
    const decoder = new TextDecoder();
    const FORM_SAFE = /[*\-._0-9A-Za-z]/;

    function formEncode(str) {
      let out = '';
      for (const byte of utf8Bytes(str)) {
        const ch = String.fromCharCode(byte);
        if (byte === 0x20) out += '+';
        else if (byte < 0x80 && FORM_SAFE.test(ch)) out += ch;
        else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      }
      return out;
    }

    function formDecode(str) {
      const bytes = utf8Bytes(str.replace(/\+/g, ' '));
      const out = new Uint8Array(bytes.length);
      let n = 0;
      for (let i = 0; i < bytes.length; i += 1) {
        const hex = String.fromCharCode(bytes[i + 1], bytes[i + 2]);
        if (bytes[i] === 0x25 && i + 2 < bytes.length && /^[0-9A-Fa-f]{2}$/.test(hex)) {
          out[n++] = Number.parseInt(hex, 16);
          i += 2;
        } else {
          out[n++] = bytes[i];
        }
      }
      return decoder.decode(out.subarray(0, n));
    }

    let linkParams;

    class URLSearchParams {
      #list = [];
      #onChange = null;
      constructor(init = '') {
        if (typeof init === 'object' && init !== null) {
          if (typeof init[Symbol.iterator] === 'function') {
            for (const pair of init) {
              const entry = [...pair];
              if (entry.length !== 2)
                throw new TypeError('Each query pair must be an iterable [name, value] tuple');
              this.#list.push([`${entry[0]}`, `${entry[1]}`]);
            }
          } else {
            for (const key of Object.keys(init)) this.#list.push([key, `${init[key]}`]);
          }
        } else {
          this.#parse(`${init}`);
        }
      }
      #parse(query) {
        this.#list = [];
        const text = query.startsWith('?') ? query.slice(1) : query;
        for (const part of text.split('&')) {
          if (part === '') continue;
          const eq = part.indexOf('=');
          const name = eq === -1 ? part : part.slice(0, eq);
          const value = eq === -1 ? '' : part.slice(eq + 1);
          this.#list.push([formDecode(name), formDecode(value)]);
        }
      }
      #changed() {
        this.#onChange?.(this.toString());
      }
      static {
        // Lets URL tie its searchParams to itself without giving guest code a public way to do the same.
        linkParams = (params, query, onChange) => {
          params.#parse(query);
          params.#onChange = onChange;
        };
      }
      get size() {
        return this.#list.length;
      }
      append(name, value) {
        this.#list.push([`${name}`, `${value}`]);
        this.#changed();
      }
      delete(name, value) {
        const n = `${name}`;
        const v = value === undefined ? undefined : `${value}`;
        this.#list = this.#list.filter(([k, val]) => !(k === n && (v === undefined || val === v)));
        this.#changed();
      }
      get(name) {
        return this.#list.find(([k]) => k === `${name}`)?.[1] ?? null;
      }
      getAll(name) {
        return this.#list.filter(([k]) => k === `${name}`).map(([, v]) => v);
      }
      has(name, value) {
        const v = value === undefined ? undefined : `${value}`;
        return this.#list.some(([k, val]) => k === `${name}` && (v === undefined || val === v));
      }
      set(name, value) {
        const n = `${name}`;
        const index = this.#list.findIndex(([k]) => k === n);
        if (index === -1) this.#list.push([n, `${value}`]);
        else
          this.#list = this.#list
            .filter(([k], i) => k !== n || i === index)
            .map((e, i) => (i === index ? [n, `${value}`] : e));
        this.#changed();
      }
      sort() {
        this.#list = this.#list
          .map((entry, i) => [entry, i])
          .sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j))
          .map(([entry]) => entry);
        this.#changed();
      }
      forEach(callback, thisArg) {
        for (const [k, v] of this.#list) callback.call(thisArg, v, k, this);
      }
      *entries() {
        for (const [k, v] of this.#list) yield [k, v];
      }
      *keys() {
        for (const [k] of this.#list) yield k;
      }
      *values() {
        for (const [, v] of this.#list) yield v;
      }
      [Symbol.iterator]() {
        return this.entries();
      }
      toString() {
        return this.#list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
      }
    }

    // What a program may change of a URL (the host's guest-bridge accepts the same set).
    const URL_PARTS = 'protocol username password host hostname port pathname search hash'.split(' ');

    function parse(input, base) {
      const text = `${input}`;
      const baseText = base === undefined ? undefined : `${base}`;
      if (tooLong(text) || (baseText !== undefined && tooLong(baseText))) return null;
      const record = bridge.parseUrl(text, baseText);
      return typeof record === 'object' && record !== null ? record : null;
    }

    class URL {
      #parts;
      #params = new URLSearchParams();
      constructor(input, base) {
        const record = parse(input, base);
        if (record === null) {
          const error = new TypeError('Invalid URL');
          error.code = 'ERR_INVALID_URL';
          error.input = `${input}`;
          throw error;
        }
        this.#adopt(record);
      }
      #adopt(record) {
        this.#parts = record;
        linkParams(this.#params, record.search, (query) => this.#update('search', query, false));
      }
      #update(part, value, relink = true) {
        const text = `${value}`;
        if (tooLong(text))
          throw new TypeError(`Invalid URL ${part}: longer than ${MAX_URL_CHARS} characters`);
        const record = bridge.updateUrl(this.#parts.href, part, text);
        if (relink) this.#adopt(record);
        else this.#parts = record;
      }
      static canParse(input, base) {
        return parse(input, base) !== null;
      }
      static parse(input, base) {
        return parse(input, base) === null ? null : new URL(input, base);
      }
      get searchParams() {
        return this.#params;
      }
      get href() {
        return this.#parts.href;
      }
      set href(value) {
        const record = parse(value);
        if (record === null) throw new TypeError('Invalid URL');
        this.#adopt(record);
      }
      get origin() {
        return this.#parts.origin;
      }
      toString() {
        return this.#parts.href;
      }
      toJSON() {
        return this.#parts.href;
      }
      // The parts a program can read and change: each reads the parsed record and changes it through the bridge.
      static {
        for (const part of URL_PARTS) {
          Object.defineProperty(URL.prototype, part, {
            get() {
              return this.#parts[part];
            },
            set(value) {
              this.#update(part, value);
            },
            enumerable: false,
            configurable: true,
          });
        }
      }
    }

    return { URL, URLSearchParams };
  });
});
