// Guest runtime, part 1b: util.format (printf-like console arguments) and the text shown for an uncaught
// exception, both built on runtime.inspect, and the cut a text gets before it is handed to the host (which
// shows at most 64 KiB of it; a longer string would first be copied whole into the host). Runs inside the
// isolate only and must never call into the host.
(function installFormat(runtime) {
  const { apply, defineProperty } = Reflect;
  const stringSlice = String.prototype.slice;
  const HOST_TEXT_CHARS = 64 * 1024 + 1;
  const { inspect, formatNumber, formatPrimitive } = runtime;
  const stringify = JSON.stringify;

  function tryStringify(value) {
    try {
      return stringify(value);
    } catch (err) {
      if (err instanceof TypeError && /circular/i.test(err.message)) return '[Circular]';
      throw err;
    }
  }

  function formatSpecifier(ch, arg) {
    switch (ch) {
      case 's':
        if (typeof arg === 'number') return formatNumber(arg);
        if (typeof arg === 'bigint') return `${arg}n`;
        if (typeof arg === 'symbol') return formatPrimitive(arg);
        if (typeof arg === 'object' && arg !== null) return inspect(arg, { depth: 0 });
        return `${arg}`;
      case 'j':
        return tryStringify(arg);
      case 'd':
      case 'i':
      case 'f':
        if (typeof arg === 'bigint') return ch === 'f' ? formatNumber(Number(arg)) : `${arg}n`;
        if (typeof arg === 'symbol') return 'NaN';
        if (ch === 'd') return formatNumber(Number(arg));
        return formatNumber(ch === 'i' ? Number.parseInt(arg, 10) : Number.parseFloat(arg));
      case 'o':
        return inspect(arg, { depth: 4 });
      case 'O':
        return inspect(arg);
      default:
        return '';
    }
  }

  /** util.format: printf-like substitution in a leading string, then the remaining arguments joined by spaces. */
  function format(args) {
    if (args.length === 1 && typeof args[0] === 'string') return args[0];
    let str = '';
    let next = 0;
    const first = args[0];
    if (typeof first === 'string') {
      next = 1;
      let lastPos = 0;
      for (let i = 0; i < first.length - 1; i += 1) {
        if (first[i] !== '%') continue;
        const ch = first[i + 1];
        if (ch === '%') {
          str += first.slice(lastPos, i + 1);
          lastPos = i + 2;
          i += 1;
        } else if ('sjdifoOc'.includes(ch) && next < args.length) {
          str += first.slice(lastPos, i) + formatSpecifier(ch, args[next]);
          next += 1;
          lastPos = i + 2;
          i += 1;
        }
      }
      str += first.slice(lastPos);
    }
    for (; next < args.length; next += 1) {
      const value = args[next];
      str += (str === '' && next === 0 ? '' : ' ') + (typeof value === 'string' ? value : inspect(value));
    }
    return str;
  }

  /** What stderr shows for an uncaught exception: the stack for an Error, like Node, else the value. */
  function describeUncaught(error) {
    return error instanceof Error ? inspect(error) : `Uncaught ${inspect(error)}`;
  }

  /** `text` cut to what the host shows (one character more, so the host can tell it was cut). */
  function forHost(text) {
    return text.length > HOST_TEXT_CHARS ? apply(stringSlice, text, [0, HOST_TEXT_CHARS]) : text;
  }

  defineProperty(runtime, 'describeUncaught', { value: describeUncaught });
  defineProperty(runtime, 'forHost', { value: forHost });
  defineProperty(runtime, 'format', { value: format });
});
