// Building the page from data without ever parsing data as markup: every string becomes a text node
// (textContent), never innerHTML. `visible` also shows control characters (ANSI escapes, bidirectional
// overrides) as written-out escapes, so program output cannot hide, reorder or restyle what the operator sees.

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

/** How a hidden character is shown: `\x1b` for controls, `\u202e` for formatting marks. */
function escapeOf(ch) {
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The text with every control character written out as an escape (ESC as `\x1b`). */
export function visible(text) {
  return String(text).replace(HIDDEN, escapeOf);
}

/** Like visible(), as nodes: text, with each escape in a `.ctl` span so it stands out from the program's text. */
export function visibleNodes(text) {
  const nodes = [];
  let last = 0;
  const source = String(text);
  for (const match of source.matchAll(HIDDEN)) {
    if (match.index > last) nodes.push(document.createTextNode(source.slice(last, match.index)));
    nodes.push(el('span', { class: 'ctl' }, escapeOf(match[0])));
    last = match.index + match[0].length;
  }
  if (last < source.length) nodes.push(document.createTextNode(source.slice(last)));
  return nodes;
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

/** A table of headings and rows of cells (each cell a node or text). */
export function table(headings, rows) {
  return el(
    'table',
    {},
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headings.map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      rows.map((cells) =>
        el(
          'tr',
          {},
          cells.map((c) => el('td', {}, c)),
        ),
      ),
    ),
  );
}
