// Building the page from data without ever parsing data as markup: every string becomes a text node
// (textContent), never innerHTML. `visible` also shows control characters (ANSI escapes, bidirectional
// overrides) as visible symbols, so program output cannot hide, reorder or restyle what the operator sees.

/**
 * An element: `props` sets class, attributes (`attrs`), listeners (`on`) and dataset (`data`); children are
 * nodes or strings (as text), null/undefined/false are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const [name, value] of Object.entries(props.data ?? {})) node.dataset[name] = String(value);
  for (const [event, handler] of Object.entries(props.on ?? {})) node.addEventListener(event, handler);
  append(node, ...children);
  return node;
}

export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces the children of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, ...children);
}

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional and invisible formatting marks.
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** The text with every control character shown as a symbol (ESC as ␛, others as ⟨U+XXXX⟩). */
export function visible(text) {
  return String(text).replace(HIDDEN, (ch) => {
    const code = ch.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    return `\u27e8U+${code.toString(16).toUpperCase().padStart(4, '0')}\u27e9`;
  });
}

/** A short local time of an ISO timestamp, or an em dash. */
export function time(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? visible(iso) : date.toLocaleTimeString();
}

/** Milliseconds between two ISO timestamps, as text. */
export function duration(from, to) {
  if (!from || !to) return '—';
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A status or outcome as a coloured badge. */
export function badge(text) {
  const value = text ?? '—';
  return el('span', { class: `badge badge-${/^[a-z_]+$/.test(value) ? value : 'other'}` }, visible(value));
}

/** A labelled message box: `kind` info, warn or error. */
export function notice(kind, ...children) {
  return el(
    'div',
    { class: `notice notice-${kind}`, attrs: { role: kind === 'error' ? 'alert' : 'status' } },
    ...children,
  );
}
