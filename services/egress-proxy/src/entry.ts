// What a forwarded request and a CONNECT tunnel share on entry: the run named by the Proxy-Authorization
// header, and one way to write the entry's record from what is known of its target so far.
// Invariant: an entry without a valid proxy credential is answered 407 and leaves no record (there is no run
// to hold one); every other record names the entry's method and scheme, and fields not yet known are empty
// (no host, port, path or address; no bytes; no credential) unless the caller says otherwise.

import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '@airlock/protocol';
import type { EgressRun, RecordInput } from './egress-run.ts';
import type { ProxyContext } from './proxy-context.ts';

/** The run the entry authenticates as; undefined (after a warning and `refuse`) without a valid credential. */
export function entryRun(
  ctx: ProxyContext,
  req: IncomingMessage,
  entry: { kind: 'request' | 'tunnel'; method: string | undefined },
  refuse: () => void,
): EgressRun | undefined {
  const run = ctx.runs.authenticate(req.headers['proxy-authorization']);
  if (run) return run;
  ctx.logger?.warn({ method: entry.method }, `egress: ${entry.kind} without a valid proxy credential`);
  refuse();
  return undefined;
}

/** The outcome a record always states; everything else defaults to "not known yet". */
export type EntryOutcome = Pick<RecordInput, 'decision' | 'reason' | 'status'> & Partial<RecordInput>;

/** Writes the run's record of one entry: its method and scheme, what `known()` says now, then `outcome`. */
export type EntryRecorder = (outcome: EntryOutcome) => void;

export function entryRecorder(
  run: EgressRun,
  known: () => Pick<RecordInput, 'method' | 'scheme'> & Partial<RecordInput>,
): EntryRecorder {
  return (outcome) =>
    run.record({
      host: '',
      port: null,
      path: null,
      address: null,
      bytes_out: 0,
      bytes_in: 0,
      credential: null,
      ...known(),
      ...outcome,
    });
}

/** The status a refused admission is answered and recorded with. */
export function admissionStatus(code: ErrorCode): number {
  return code === 'egress_limit' ? 429 : code === 'egress_denied' ? 403 : 502;
}

/**
 * The one end of an admitted entry, whichever way it comes (done, failed, idle, or its run closing): the first
 * call leaves the run's in-flight set, gives back the admission, destroys `sockets` and runs `record`; later
 * calls do nothing.
 */
export function endOnce(
  settle: () => void,
  release: () => void,
  sockets: ReadonlyArray<{ destroy(): void }>,
  record: () => void,
): () => void {
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    settle();
    release();
    for (const socket of sockets) socket.destroy();
    record();
  };
}
