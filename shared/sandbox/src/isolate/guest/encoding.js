// Guest runtime, part 4: TextEncoder/TextDecoder (UTF-8 only, WHATWG error handling) and atob/btoa, written in
// plain JavaScript inside the isolate, installed on first use. Must never call into the host.
(function installEncoding(runtime) {
  const globals = ['TextEncoder', 'TextDecoder', 'atob', 'btoa'];
  runtime.encoding = runtime.lazyPart(globals, () => {
    const { fromCharCode } = String;
    const { isView } = ArrayBuffer;
    const UTF8_LABELS = [
      'utf-8',
      'utf8',
      'unicode-1-1-utf-8',
      'unicode11utf8',
      'unicode20utf8',
      'x-unicode20utf8',
    ];
    const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

    function utf8Bytes(input) {
      const str = `${input}`;
      const out = new Uint8Array(str.length * 3);
      let n = 0;
      for (let i = 0; i < str.length; i += 1) {
        let cp = str.charCodeAt(i);
        if (cp >= 0xd800 && cp <= 0xdfff) {
          const next = str.charCodeAt(i + 1);
          if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
            i += 1;
          } else {
            cp = 0xfffd;
          }
        }
        if (cp < 0x80) {
          out[n++] = cp;
        } else if (cp < 0x800) {
          out[n++] = 0xc0 | (cp >> 6);
          out[n++] = 0x80 | (cp & 0x3f);
        } else if (cp < 0x10000) {
          out[n++] = 0xe0 | (cp >> 12);
          out[n++] = 0x80 | ((cp >> 6) & 0x3f);
          out[n++] = 0x80 | (cp & 0x3f);
        } else {
          out[n++] = 0xf0 | (cp >> 18);
          out[n++] = 0x80 | ((cp >> 12) & 0x3f);
          out[n++] = 0x80 | ((cp >> 6) & 0x3f);
          out[n++] = 0x80 | (cp & 0x3f);
        }
      }
      return out.slice(0, n);
    }

    class TextEncoder {
      get encoding() {
        return 'utf-8';
      }
      encode(input = '') {
        return utf8Bytes(input);
      }
      encodeInto(source, destination) {
        const str = `${source}`;
        let read = 0;
        let written = 0;
        for (const ch of str) {
          const bytes = utf8Bytes(ch);
          if (written + bytes.length > destination.length) break;
          destination.set(bytes, written);
          written += bytes.length;
          read += ch.length;
        }
        return { read, written };
      }
    }

    function toBytes(input) {
      if (input === undefined) return new Uint8Array(0);
      if (input instanceof ArrayBuffer || input instanceof SharedArrayBuffer) return new Uint8Array(input);
      if (isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
    }

    class TextDecoder {
      #fatal;
      #ignoreBOM;
      #pending = [];
      #bomSeen = false;
      constructor(label = 'utf-8', options = {}) {
        if (!UTF8_LABELS.includes(`${label}`.trim().toLowerCase())) {
          throw new RangeError(`The "${label}" encoding is not supported in the isolate sandbox`);
        }
        this.#fatal = Boolean(options?.fatal);
        this.#ignoreBOM = Boolean(options?.ignoreBOM);
      }
      get encoding() {
        return 'utf-8';
      }
      get fatal() {
        return this.#fatal;
      }
      get ignoreBOM() {
        return this.#ignoreBOM;
      }
      decode(input, options = {}) {
        const stream = Boolean(options?.stream);
        const fresh = toBytes(input);
        let bytes = fresh;
        if (this.#pending.length > 0) {
          bytes = new Uint8Array(this.#pending.length + fresh.length);
          bytes.set(this.#pending);
          bytes.set(fresh, this.#pending.length);
          this.#pending = [];
        }
        const units = [];
        let text = '';
        let needed = 0;
        let seen = 0;
        let cp = 0;
        let lower = 0x80;
        let upper = 0xbf;
        let start = 0;
        const fail = () => {
          if (this.#fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
          units.push(0xfffd);
        };
        const push = (code) => {
          if (code > 0xffff)
            units.push(0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff));
          else units.push(code);
          if (units.length > 8192) text += fromCharCode(...units.splice(0));
        };
        for (let i = 0; i < bytes.length; i += 1) {
          const byte = bytes[i];
          if (needed === 0) {
            start = i;
            if (byte <= 0x7f) push(byte);
            else if (byte >= 0xc2 && byte <= 0xdf) [needed, cp] = [1, byte & 0x1f];
            else if (byte >= 0xe0 && byte <= 0xef) {
              if (byte === 0xe0) lower = 0xa0;
              if (byte === 0xed) upper = 0x9f;
              [needed, cp] = [2, byte & 0xf];
            } else if (byte >= 0xf0 && byte <= 0xf4) {
              if (byte === 0xf0) lower = 0x90;
              if (byte === 0xf4) upper = 0x8f;
              [needed, cp] = [3, byte & 0x7];
            } else fail();
            continue;
          }
          if (byte < lower || byte > upper) {
            [needed, seen, cp, lower, upper] = [0, 0, 0, 0x80, 0xbf];
            fail();
            i -= 1;
            continue;
          }
          [lower, upper] = [0x80, 0xbf];
          cp = (cp << 6) | (byte & 0x3f);
          seen += 1;
          if (seen === needed) {
            push(cp);
            [needed, seen, cp] = [0, 0, 0];
          }
        }
        if (needed !== 0) {
          if (stream) this.#pending = [...bytes.subarray(start)];
          else fail();
        }
        text += fromCharCode(...units);
        if (!this.#ignoreBOM && !this.#bomSeen && text.length > 0) {
          this.#bomSeen = true;
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        if (!stream) this.#bomSeen = false;
        return text;
      }
    }

    function btoa(input) {
      const str = `${input}`;
      let out = '';
      for (let i = 0; i < str.length; i += 3) {
        const codes = [str.charCodeAt(i), str.charCodeAt(i + 1), str.charCodeAt(i + 2)];
        for (const c of codes) {
          if (c > 0xff) throw new DOMExceptionLike('Invalid character', 'InvalidCharacterError');
        }
        const [a, b = 0, c = 0] = codes.map((x) => (Number.isNaN(x) ? undefined : x));
        const triple = (a << 16) | (b << 8) | c;
        out += BASE64[(triple >> 18) & 63] + BASE64[(triple >> 12) & 63];
        out += i + 1 < str.length ? BASE64[(triple >> 6) & 63] : '=';
        out += i + 2 < str.length ? BASE64[triple & 63] : '=';
      }
      return out;
    }

    function atob(input) {
      let str = `${input}`.replace(/[\t\n\f\r ]/g, '');
      if (str.length % 4 === 0) str = str.replace(/={1,2}$/, '');
      if (str.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(str)) {
        throw new DOMExceptionLike(
          'The string to be decoded is not correctly encoded.',
          'InvalidCharacterError',
        );
      }
      let out = '';
      let bits = 0;
      let value = 0;
      for (const ch of str) {
        value = (value << 6) | BASE64.indexOf(ch);
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          out += fromCharCode((value >> bits) & 0xff);
        }
      }
      return out;
    }

    class DOMExceptionLike extends Error {
      constructor(message, name) {
        super(message);
        this.name = name;
      }
    }

    return { TextEncoder, TextDecoder, atob, btoa, utf8Bytes };
  });
});
