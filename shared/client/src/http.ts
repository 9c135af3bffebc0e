// The HTTP layer of the client: one fetch per call, the bearer token on every request, coded error bodies turned
// into AirlockClientError, and every JSON answer validated with a zod schema before anyone sees it.
// Works with any fetch-compatible function (global fetch, or the gateway's in-process one).

import { z } from 'zod';
import { AirlockClientError } from './errors.ts';

/** What the client needs of `fetch`: the global one fits, so does one built on Fastify's inject. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** The gateway's error body, `{error:{code,message,field?,retry_after?,errors?}}`; codes are kept as strings. */
const WireError = z.object({
  error: z.object({
    code: z.string().min(1),
    message: z.string(),
    field: z.string().optional(),
    retry_after: z.number().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Sent as is (application/octet-stream) instead of a JSON body. */
  rawBody?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

export interface HttpOptions {
  baseUrl: string;
  token?: string | undefined;
  fetch: FetchLike;
}

/** `files.0.path` style of a zod issue path, for messages about answers that do not match their schema. */
function issuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || '(root)';
}

export class HttpTransport {
  readonly #options: HttpOptions;

  constructor(options: HttpOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
  }

  /** Sends the request; resolves with a 2xx response, throws AirlockClientError for anything else. */
  async send(request: HttpRequest): Promise<Response> {
    const url = new URL(this.#options.baseUrl + request.path);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
    const init: RequestInit = { method: request.method, headers };
    if (request.rawBody !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      init.body = request.rawBody as Uint8Array<ArrayBuffer>;
    } else if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(request.body);
    }
    if (request.signal) init.signal = request.signal;
    let response: Response;
    try {
      response = await this.#options.fetch(url.toString(), init);
    } catch (error) {
      throw transportFailure(error, request);
    }
    if (response.ok) return response;
    throw await errorFrom(response, request);
  }

  /** Sends the request and parses its JSON answer with `schema`; also returns the status and headers. */
  async json<S extends z.ZodType>(
    schema: S,
    request: HttpRequest,
  ): Promise<{ status: number; headers: Headers; body: z.output<S> }> {
    const response = await this.send(request);
    let raw: unknown;
    try {
      raw = await response.json();
    } catch (error) {
      throw new AirlockClientError({
        status: response.status,
        code: 'unexpected_response',
        message: `${request.method} ${request.path}: the answer is not JSON`,
        cause: error,
      });
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AirlockClientError({
        status: response.status,
        code: 'unexpected_response',
        message: `${request.method} ${request.path}: the answer does not match its schema at ${issuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`,
      });
    }
    return { status: response.status, headers: response.headers, body: parsed.data };
  }
}

/** A failure with no coded answer: the caller's abort, or the network (also while reading a streamed body). */
export function transportFailure(
  error: unknown,
  request: Pick<HttpRequest, 'method' | 'path' | 'signal'>,
): AirlockClientError {
  if (error instanceof AirlockClientError) return error;
  const name = (error as { name?: unknown })?.name;
  if (name === 'AbortError' || name === 'TimeoutError' || request.signal?.aborted) {
    return new AirlockClientError({
      status: 0,
      code: 'aborted',
      message: `${request.method} ${request.path}: aborted`,
      cause: error,
    });
  }
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS failure, a reset) is in its cause.
  const cause = (error as { cause?: unknown })?.cause;
  const reason =
    error instanceof Error
      ? `${error.message}${cause instanceof Error ? ` (${cause.message})` : ''}`
      : String(error);
  return new AirlockClientError({
    status: 0,
    code: 'network_error',
    message: `${request.method} ${request.path}: ${reason}`,
    cause: error,
  });
}

/** A coded body becomes its code; anything else (a proxy's HTML page, an empty 502) is `unexpected_response`. */
async function errorFrom(response: Response, request: HttpRequest): Promise<AirlockClientError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const coded = WireError.safeParse(body);
  if (coded.success) {
    const { code, message, field, retry_after, errors } = coded.data.error;
    return new AirlockClientError({
      status: response.status,
      code,
      message,
      field: field === '' ? undefined : field,
      retryAfter: retry_after,
      issues: errors,
    });
  }
  return new AirlockClientError({
    status: response.status,
    code: 'unexpected_response',
    message: `${request.method} ${request.path}: HTTP ${response.status} without an Airlock error body`,
  });
}
