// The session calls a NATS gateway forwards to the worker hosting a session, on the worker's own subject
// `airlock.workers.<worker id>.sessions` (core NATS request-reply): one JSON message per call — the operation, the
// caller's Authorization header (the worker authenticates it again: every process reads the same token settings),
// the operation's arguments (file contents base64) and, for a session whose worker is gone, `adopt` — and one JSON
// reply: the value, or the `{error:{…}}` body of the one error table with its status. Requests are already
// validated by the gateway's routes (the same zod schemas); a reply never carries anything but the value or the
// coded error.

import { AirlockError, type ErrorBody, type ErrorCode } from '@airlock/protocol';

/** The subject a worker answers its sessions' calls on. */
export const sessionsSubject = (workerId: string): string => `airlock.workers.${workerId}.sessions`;

export const SESSION_OPS = [
  'create',
  'get',
  'remove',
  'update',
  'startCell',
  'awaitCell',
  'snapshot',
  'pause',
  'resume',
  'filePut',
  'fileGet',
  'fileList',
  'fileRemove',
  'snapshotList',
  'snapshotGet',
  'snapshotRemove',
] as const;
export type SessionOp = (typeof SESSION_OPS)[number];

export interface SessionCall {
  op: SessionOp;
  /** The caller's Authorization header, when it sent one. */
  authorization?: string;
  /** The session (or snapshot, or cell) the call is about. */
  id?: string;
  /** The operation's other arguments. */
  args?: Record<string, unknown>;
  /** The session's worker is gone: take the session over from its record first. */
  adopt?: boolean;
}

export type SessionAnswer = { value: unknown } | ErrorBody;

export const encodeCall = (call: SessionCall): string => JSON.stringify(call);

export function decodeCall(data: Uint8Array): SessionCall {
  const call = JSON.parse(new TextDecoder().decode(data)) as SessionCall;
  if (!SESSION_OPS.includes(call.op)) throw new AirlockError('invalid_request', 'unknown session operation');
  return call;
}

export const encodeValue = (value: unknown): string => JSON.stringify({ value });

export const encodeError = (error: AirlockError): string => JSON.stringify(error.toBody());

/** The reply's value, or the coded error it carries, thrown as it was raised on the worker. */
export function decodeAnswer(data: Uint8Array): unknown {
  const answer = JSON.parse(new TextDecoder().decode(data)) as SessionAnswer;
  if ('value' in answer) return answer.value;
  const { code, message, field, retry_after } = answer.error;
  throw new AirlockError(code as ErrorCode, message, {
    ...(field === undefined ? {} : { field }),
    ...(retry_after === undefined ? {} : { retryAfter: retry_after }),
  });
}

/** Headers as the routes and the authorizer read them: only Authorization crosses to the worker. */
export function headersOf(call: SessionCall): Record<string, unknown> {
  return call.authorization === undefined ? {} : { authorization: call.authorization };
}

export const toBase64 = (content: Uint8Array): string => Buffer.from(content).toString('base64');
export const fromBase64 = (text: unknown): Buffer => Buffer.from(String(text), 'base64');

/** A session call or its answer that does not fit one NATS message. */
export function tooLarge(what: 'request' | 'answer', maxPayload: number): AirlockError {
  return new AirlockError(
    'payload_too_large',
    `the session call's ${what} is larger than the NATS server's max_payload of ${maxPayload} bytes ` +
      '(a file moved through the files API travels in one message): send a smaller file, or raise max_payload',
  );
}
