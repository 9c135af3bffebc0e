// Guest runtime, part 8: fetch, Headers and Response (a WHATWG-shaped subset), installed on first use. The host
// performs each request through the run's egress proxy (see ../guest-fetch.ts); the guest hands it only
// strings and a Uint8Array, and learns that a reply is ready when the host fires timer id `-id`, then takes
// the reply (plain strings and a fresh Uint8Array) with one more bridge call. Must never hand a guest function
// or object to the host, nor a request larger than the host takes (a copy of it would be made in the host first).
(function installFetch(runtime) {
  const { bridge } = runtime;
  const { apply } = Reflect;
  const { isView } = ArrayBuffer;
  const promiseWithResolvers = Promise.withResolvers.bind(Promise);
  const pending = new Map();
  let nextId = 1;

  // Replies arrive through the timer entry point the host already holds: negative ids are fetch replies.
  const fireTimer = runtime.fireTimer;
  runtime.fireTimer = (id) => {
    if (id >= 0) return fireTimer(id);
    const waiter = pending.get(-id);
    if (waiter === undefined) return;
    pending.delete(-id);
    waiter.settle(bridge.fetchTake(-id));
  };

  runtime.lazyPart(['fetch', 'Headers', 'Response'], () => {
    const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
    const BAD_VALUE = /[\0\r\n]/;
    const REDIRECTS = new Set(['follow', 'manual', 'error']);
    // The host's limits (../guest-fetch.ts); a request past them is refused here with the host's words.
    const MAX_URL_CHARS = 8 * 1024;
    const MAX_HEADERS = 100;
    const MAX_HEADER_CHARS = 16 * 1024;
    const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

    function headerName(name) {
      const text = `${name}`;
      if (!NAME.test(text)) throw new TypeError(`Headers: invalid header name '${text}'`);
      return text.toLowerCase();
    }

    function headerValue(value) {
      const text = `${value}`.replace(/^[\t ]+|[\t ]+$/g, '');
      if (BAD_VALUE.test(text)) throw new TypeError('Headers: invalid header value');
      return text;
    }

    class Headers {
      #list = [];
      constructor(init) {
        if (init === undefined || init === null) return;
        if (init instanceof Headers) {
          for (const [name, value] of init.#list) this.#list.push([name, value]);
        } else if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) {
            const entry = [...pair];
            if (entry.length !== 2) throw new TypeError('Headers: each header must be a [name, value] pair');
            this.append(entry[0], entry[1]);
          }
        } else if (typeof init === 'object') {
          for (const name of Object.keys(init)) this.append(name, init[name]);
        } else {
          throw new TypeError('Headers: init must be an object, an iterable of pairs or a Headers');
        }
      }
      append(name, value) {
        this.#list.push([headerName(name), headerValue(value)]);
      }
      set(name, value) {
        const key = headerName(name);
        const text = headerValue(value);
        this.#list = this.#list.filter(([n]) => n !== key);
        this.#list.push([key, text]);
      }
      delete(name) {
        const key = headerName(name);
        this.#list = this.#list.filter(([n]) => n !== key);
      }
      get(name) {
        const key = headerName(name);
        const values = this.#list.filter(([n]) => n === key).map(([, v]) => v);
        return values.length === 0 ? null : values.join(', ');
      }
      getSetCookie() {
        return this.#list.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
      }
      has(name) {
        const key = headerName(name);
        return this.#list.some(([n]) => n === key);
      }
      *entries() {
        const names = [...new Set(this.#list.map(([n]) => n))].sort();
        for (const name of names) {
          if (name === 'set-cookie') for (const value of this.getSetCookie()) yield [name, value];
          else yield [name, this.get(name)];
        }
      }
      *keys() {
        for (const [name] of this.entries()) yield name;
      }
      *values() {
        for (const [, value] of this.entries()) yield value;
      }
      forEach(callback, thisArg) {
        for (const [name, value] of this.entries()) apply(callback, thisArg, [value, name, this]);
      }
      [Symbol.iterator]() {
        return this.entries();
      }
      get [Symbol.toStringTag]() {
        return 'Headers';
      }
      /** The flat [name, value, …] list the host takes. */
      static flat(headers) {
        return headers.#list.flat();
      }
    }

    function bodyBytes(body) {
      if (body === undefined || body === null) return null;
      if (typeof body === 'string') return body;
      if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
      if (isView(body))
        return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
      throw new TypeError('fetch: body must be a string, an ArrayBuffer or a typed array');
    }

    function decode(bytes) {
      return new (runtime.encoding().TextDecoder)().decode(bytes);
    }

    class Response {
      #status;
      #statusText;
      #headers;
      #body;
      #url;
      #redirected;
      #used = false;
      constructor(body = null, init = {}) {
        const status = init.status === undefined ? 200 : Number(init.status);
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          throw new RangeError(`Response: status ${init.status} is outside 200-599`);
        }
        this.#status = status;
        this.#statusText = init.statusText === undefined ? '' : `${init.statusText}`;
        this.#headers = new Headers(init.headers);
        const bytes = bodyBytes(body);
        this.#body =
          typeof bytes === 'string' ? runtime.encoding().utf8Bytes(bytes) : (bytes ?? new Uint8Array(0));
        if (typeof bytes === 'string' && !this.#headers.has('content-type')) {
          this.#headers.set('content-type', 'text/plain;charset=UTF-8');
        }
        this.#url = '';
        this.#redirected = false;
      }
      static fromHost(reply) {
        const response = new Response(null, { status: 200 });
        response.#status = reply.status;
        response.#statusText = reply.statusText;
        const headers = new Headers();
        for (let i = 0; i + 1 < reply.headers.length; i += 2)
          headers.append(reply.headers[i], reply.headers[i + 1]);
        response.#headers = headers;
        response.#body = reply.body;
        response.#url = reply.url;
        response.#redirected = reply.redirected;
        return response;
      }
      get status() {
        return this.#status;
      }
      get ok() {
        return this.#status >= 200 && this.#status <= 299;
      }
      get statusText() {
        return this.#statusText;
      }
      get headers() {
        return this.#headers;
      }
      get url() {
        return this.#url;
      }
      get redirected() {
        return this.#redirected;
      }
      get type() {
        return 'basic';
      }
      get bodyUsed() {
        return this.#used;
      }
      #take() {
        if (this.#used) return Promise.reject(new TypeError('Response: body has already been read'));
        this.#used = true;
        return Promise.resolve(this.#body);
      }
      arrayBuffer() {
        return this.#take().then((bytes) =>
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        );
      }
      bytes() {
        return this.#take().then((bytes) => new Uint8Array(bytes));
      }
      text() {
        return this.#take().then(decode);
      }
      json() {
        return this.text().then((text) => JSON.parse(text));
      }
      clone() {
        if (this.#used) throw new TypeError('Response: cannot clone a used body');
        const copy = Response.fromHost({
          status: this.#status,
          statusText: this.#statusText,
          headers: Headers.flat(this.#headers),
          body: new Uint8Array(this.#body),
          url: this.#url,
          redirected: this.#redirected,
        });
        return copy;
      }
      get [Symbol.toStringTag]() {
        return 'Response';
      }
    }

    function requestOf(input, init) {
      const options = init === undefined || init === null ? {} : init;
      let url;
      if (input !== null && typeof input === 'object' && typeof input.href === 'string') url = input.href;
      else if (input !== null && typeof input === 'object' && typeof input.url === 'string') url = input.url;
      else url = `${input}`;
      const method = options.method === undefined ? 'GET' : `${options.method}`.toUpperCase();
      const redirect = options.redirect === undefined ? 'follow' : `${options.redirect}`;
      if (!REDIRECTS.has(redirect)) throw new TypeError(`fetch: redirect must be follow, manual or error`);
      const body = bodyBytes(options.body);
      if (body !== null && (method === 'GET' || method === 'HEAD')) {
        throw new TypeError('fetch: a GET or HEAD request cannot have a body');
      }
      const headers = new Headers(options.headers);
      if (typeof options.body === 'string' && !headers.has('content-type')) {
        headers.set('content-type', 'text/plain;charset=UTF-8');
      }
      return { url, method, headers: Headers.flat(headers), body, redirect };
    }

    /** Why the host would refuse `request` for its size, or null. */
    function oversized(request) {
      if (request.method.length > 32) return 'invalid method';
      if (request.url.length > MAX_URL_CHARS) return 'invalid URL';
      const { headers, body } = request;
      if (headers.length > MAX_HEADERS * 2) return 'invalid headers';
      let chars = 0;
      for (const text of headers) chars += text.length;
      if (chars > MAX_HEADER_CHARS) return 'request headers are too large';
      const size = body === null ? 0 : typeof body === 'string' ? body.length : body.byteLength;
      if (size > MAX_REQUEST_BYTES) return `request body exceeds ${MAX_REQUEST_BYTES} bytes`;
      return null;
    }

    function fetch(input, init) {
      let request;
      try {
        request = requestOf(input, init);
      } catch (error) {
        return Promise.reject(error);
      }
      const tooLarge = oversized(request);
      if (tooLarge !== null) return Promise.reject(new TypeError(`fetch failed: ${tooLarge}`));
      const id = nextId;
      nextId += 1;
      const refusal = bridge.fetchStart(
        id,
        request.method,
        request.url,
        request.headers,
        request.body,
        request.redirect,
      );
      if (refusal !== null) return Promise.reject(new TypeError(`fetch failed: ${refusal}`));
      const { promise, resolve, reject } = promiseWithResolvers();
      pending.set(id, {
        settle: (reply) => {
          if (reply?.ok === true) resolve(Response.fromHost(reply));
          else reject(new TypeError(`fetch failed: ${reply?.message ?? 'no reply'}`));
        },
      });
      return promise;
    }

    return { fetch, Headers, Response };
  });
});
