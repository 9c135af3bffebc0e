// The API as the console reads it: the operator's token (sessionStorage only, sent as a Bearer header), JSON
// requests whose refusals become ApiError with the gateway's code, and Server-Sent Events over fetch (an
// EventSource cannot send the Authorization header).

const TOKEN_KEY = 'airlock.console.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const value = token.get();
  return value ? { ...extra, authorization: `Bearer ${value}` } : extra;
}

async function refusal(response) {
  let code = 'http_error';
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body?.error) {
      code = String(body.error.code);
      message = String(body.error.message);
    }
  } catch {
    // not a coded answer: keep the status line
  }
  return new ApiError(response.status, code, message);
}

/** GET (or `init.method`) a JSON resource; throws ApiError for any answer but 2xx. */
export async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: headers(init.body ? { 'content-type': 'application/json' } : {}),
    cache: 'no-store',
  });
  if (!response.ok) throw await refusal(response);
  return response.json();
}

/**
 * Follows a Server-Sent Events stream, calling onEvent(name, data) for each event (data parsed as JSON), until
 * the stream ends or `signal` aborts. Throws ApiError when the stream is refused.
 */
export async function follow(path, onEvent, signal) {
  const response = await fetch(path, {
    headers: headers({ accept: 'text/event-stream' }),
    signal,
    cache: 'no-store',
  });
  if (!response.ok) throw await refusal(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      dispatch(buffer.slice(0, end), onEvent);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
    }
  }
}

function dispatch(block, onEvent) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return;
  try {
    onEvent(name, JSON.parse(data.join('\n')));
  } catch {
    onEvent(name, data.join('\n'));
  }
}
