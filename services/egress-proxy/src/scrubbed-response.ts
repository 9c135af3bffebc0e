// Relays the upstream's response to a request that carried a credential, with every form of the credential
// scrubbed from header names, header values and the body. What the scrubber cannot read is refused before
// anything reaches the sandbox: a transfer coding other than exactly `chunked`, a content coding other than
// none/identity or one gzip, x-gzip, deflate or br (those are decoded, and the sandbox gets the decoded body
// without Content-Encoding or Content-Length). Trailers, the status line's reason phrase and 1xx responses
// are never passed on. It must never pass on a byte it has not scrubbed, nor hold a whole body in memory.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, type Transform } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { SecretScrubber } from './scrubber.ts';

/** Content codings the proxy decodes; truncated input ends the body instead of failing it. */
const DECODERS: Record<string, () => Transform> = {
  gzip: () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  'x-gzip': () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  deflate: () => createInflate({ finishFlush: constants.Z_SYNC_FLUSH }),
  br: () => createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH }),
};

export interface ScrubbedRelay {
  /** Response header names (lower case) that are not passed on. */
  hopByHop: ReadonlySet<string>;
  /** Counts body bytes (decoded) against the run's budget. */
  onBytes(n: number): void;
  /** The response cannot be relayed (refused, or failed mid-way); the caller answers 502 or cuts it. */
  onFailure(reason: string): void;
}

function values(rawHeaders: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === name) out.push(rawHeaders[i + 1] as string);
  }
  return out;
}

/** Registered coding names (IANA HTTP parameters); only these are named in a reason. */
const REGISTERED = new Set([
  'aes128gcm',
  'br',
  'chunked',
  'compress',
  'dcb',
  'dcz',
  'deflate',
  'exi',
  'gzip',
  'identity',
  'pack200-gzip',
  'trailers',
  'x-compress',
  'x-gzip',
  'zstd',
]);

const codingList = (headerValues: readonly string[]) =>
  headerValues
    .join(',')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '');

/** The codings as a reason names them: never text the upstream chose freely (it could carry the secret). */
function named(kind: 'transfer' | 'content', codings: readonly string[]): string {
  return codings.every((c) => REGISTERED.has(c))
    ? `${kind} coding '${codings.join(', ')}'`
    : `an unregistered ${kind} coding`;
}

type Plan = { coding: string | null } | { refused: string };

/** How the body can be read, from the raw response headers. */
function readingPlan(rawHeaders: readonly string[]): Plan {
  const transfer = codingList(values(rawHeaders, 'transfer-encoding'));
  if (transfer.length > 0 && (transfer.length > 1 || transfer[0] !== 'chunked')) {
    return {
      refused: `${named('transfer', transfer)} is refused: only chunked can be scrubbed of the credential`,
    };
  }
  const content = codingList(values(rawHeaders, 'content-encoding'));
  const codings = content.filter((c) => c !== 'identity');
  if (codings.length === 0) return { coding: null };
  const [coding] = codings;
  if (codings.length === 1 && coding !== undefined && Object.hasOwn(DECODERS, coding)) return { coding };
  return { refused: `${named('content', content)} cannot be scrubbed of the credential` };
}

function scrubbedHeaders(
  rawHeaders: readonly string[],
  scrubber: SecretScrubber,
  drop: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (drop.has(name.toLowerCase())) continue;
    out.push(scrubber.scrubHeaderName(name), scrubber.scrubText(rawHeaders[i + 1] as string));
  }
  return out;
}

export function relayScrubbed(
  upstreamRes: IncomingMessage,
  res: ServerResponse,
  scrubber: SecretScrubber,
  relay: ScrubbedRelay,
): void {
  const plan = readingPlan(upstreamRes.rawHeaders);
  if ('refused' in plan) {
    upstreamRes.resume();
    relay.onFailure(plan.refused);
    return;
  }
  const drop = new Set(relay.hopByHop);
  if (plan.coding) drop.add('content-encoding').add('content-length');
  const headers = scrubbedHeaders(upstreamRes.rawHeaders, scrubber, drop);
  const status = upstreamRes.statusCode ?? 502;
  // Headers wait for the first scrubbed bytes, so a body that cannot be decoded is still answered with 502.
  const head = () => {
    if (!res.headersSent) res.writeHead(status, headers);
  };
  const decoder = plan.coding ? (DECODERS[plan.coding] as () => Transform)() : null;
  let undecodable = false;
  decoder?.once('error', () => {
    undecodable = true;
  });
  const onDone = (error: Error | null | undefined) => {
    if (!error) return;
    relay.onFailure(
      undecodable
        ? `the ${plan.coding} body could not be decoded: ${error.message}`
        : `upstream failed: ${scrubber.scrubText(error.message)}`,
    );
  };
  const body = decoder
    ? pipeline(upstreamRes, decoder, scrubber.stream(), onDone)
    : pipeline(upstreamRes, scrubber.stream(), onDone);
  body.on('data', (chunk: Buffer) => {
    relay.onBytes(chunk.length);
    if (res.destroyed) return;
    head();
    if (!res.write(chunk)) body.pause();
  });
  res.on('drain', () => body.resume());
  body.on('end', () => {
    if (res.destroyed) return;
    head();
    res.end();
  });
}
