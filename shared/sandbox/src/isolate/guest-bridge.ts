// The host callbacks a guest runtime may call, wrapped as copying ivm.Callbacks. Every argument is checked for
// its primitive type before any host code looks at it, and every reply is a primitive, a plain record of
// strings, or a Uint8Array, which isolated-vm copies into the isolate. Must never hand the guest a Reference, a
// Context or a host object.

import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import ivm from 'isolated-vm';
import type { GuestFetchReply } from './guest-fetch.ts';
import { NO_EGRESS_MESSAGE } from './guest-fetches.ts';

/** What the job behind a guest does with the calls its guest makes. */
export interface BridgeHandlers {
  /** Returns false once the job takes no more output. */
  write(stream: 'stdout' | 'stderr', text: string): boolean;
  /** Returns false when the timer cannot be armed (too many pending, or the job is over). */
  timerStart(id: number, delayMs: number, ref: boolean): boolean;
  timerClear(id: number): void;
  timerRef(id: number, ref: boolean): void;
  uncaught(text: string): void;
  exit(code: number): void;
  entryDone(): void;
  readFile(path: string, asText: boolean): ReadFileReply;
  /**
   * Egress (see guest-fetches.ts): starts fetch `id` from unchecked guest values; null when it
   * started, else why not. Absent: every fetch is refused.
   */
  fetchStart?(
    id: number,
    method: unknown,
    url: unknown,
    headers: unknown,
    body: unknown,
    redirect: unknown,
  ): string | null;
  /** The reply of fetch `id`, once the host has fired timer `-id`. */
  fetchTake?(id: number): GuestFetchReply;
}

export type ReadFileReply =
  | { ok: true; data: string | Uint8Array }
  | { ok: false; code: string; message: string };

/** The callbacks in the order the guest runtime receives them as arguments. */
export const BRIDGE_NAMES = [
  'write',
  'timerStart',
  'timerClear',
  'timerRef',
  'uncaught',
  'exit',
  'entryDone',
  'readFile',
  'randomBytes',
  'parseUrl',
  'updateUrl',
  'fetchStart',
  'fetchTake',
] as const;

export type BridgeCallbacks = Record<(typeof BRIDGE_NAMES)[number], ivm.Callback>;

const URL_PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port'] as const;
const URL_SETTERS = new Set([
  'protocol',
  'username',
  'password',
  'host',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
]);
const MAX_URL_CHARS = 1 << 20;

function fail(what: string): never {
  throw new TypeError(`airlock bridge: invalid ${what}`);
}

function str(value: unknown, what: string, max = Number.POSITIVE_INFINITY): string {
  if (typeof value !== 'string' || value.length > max) fail(what);
  return value;
}

function int(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(what);
  return value;
}

function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') fail(what);
  return value;
}

function urlRecord(url: URL): Record<string, string> {
  const record: Record<string, string> = {};
  for (const part of URL_PARTS) record[part] = url[part];
  record.pathname = url.pathname;
  record.search = url.search;
  record.hash = url.hash;
  return record;
}

function parseUrl(input: unknown, base: unknown): Record<string, string> | null {
  const text = str(input, 'URL', MAX_URL_CHARS);
  const baseText = base === undefined ? undefined : str(base, 'base URL', MAX_URL_CHARS);
  const url = URL.parse(text, baseText);
  return url === null ? null : urlRecord(url);
}

function updateUrl(href: unknown, part: unknown, value: unknown): Record<string, string> {
  const url = URL.parse(str(href, 'URL', MAX_URL_CHARS));
  const name = str(part, 'URL part');
  if (url === null || !URL_SETTERS.has(name)) fail('URL update');
  const next = str(value, 'URL part value', MAX_URL_CHARS);
  // The WHATWG setters ignore values they cannot apply; so does this.
  (url as unknown as Record<string, string>)[name] = next;
  return urlRecord(url);
}

function randomFor(length: unknown): Uint8Array {
  const n = int(length, 'byte count');
  if (n < 0 || n > 65_536) fail('byte count');
  return new Uint8Array(randomBytes(n));
}

function streamOf(value: unknown): 'stdout' | 'stderr' {
  if (value === 1) return 'stdout';
  if (value === 2) return 'stderr';
  return fail('stream');
}

/**
 * Builds the callbacks for one guest; the guest runtime receives them as closure arguments, never as globals.
 * `job` names the handlers of the job the guest is running; it throws while there is none (before begin).
 */
export function createBridge(job: () => BridgeHandlers): BridgeCallbacks {
  type Fn = (...args: unknown[]) => unknown;
  const callbacks: Record<keyof BridgeCallbacks, Fn> = {
    write: (stream, text) => job().write(streamOf(stream), str(text, 'output text')),
    timerStart: (id, delay, ref) =>
      job().timerStart(int(id, 'timer id'), int(delay, 'timer delay'), bool(ref, 'timer ref')),
    timerClear: (id) => job().timerClear(int(id, 'timer id')),
    timerRef: (id, ref) => job().timerRef(int(id, 'timer id'), bool(ref, 'timer ref')),
    uncaught: (text) => job().uncaught(str(text, 'error text')),
    exit: (code) => job().exit(int(code, 'exit code')),
    entryDone: () => job().entryDone(),
    readFile: (path, asText) => job().readFile(str(path, 'path', 4096), bool(asText, 'encoding flag')),
    randomBytes: randomFor,
    parseUrl,
    updateUrl,
    fetchStart: (id, method, url, headers, body, redirect) => {
      const handlers = job();
      const n = int(id, 'fetch id');
      return handlers.fetchStart
        ? handlers.fetchStart(n, method, url, headers, body, redirect)
        : NO_EGRESS_MESSAGE;
    },
    fetchTake: (id) =>
      job().fetchTake?.(int(id, 'fetch id')) ?? { ok: false, message: 'no reply for this request' },
  };
  const wrap = (name: keyof BridgeCallbacks) => new ivm.Callback(callbacks[name]);
  return Object.fromEntries(BRIDGE_NAMES.map((name) => [name, wrap(name)])) as BridgeCallbacks;
}

/** What the guest's airlock.readFile gets for a path among a job's (or a session's) files; never throws. */
export function readFileReply(
  files: ReadonlyMap<string, Uint8Array>,
  path: string,
  asText: boolean,
): ReadFileReply {
  const normalized = posix.normalize(path).replace(/^(?:\.\/)+/, '');
  const content = files.get(normalized);
  if (content === undefined) {
    return { ok: false, code: 'ENOENT', message: `ENOENT: no such file or directory, open '${path}'` };
  }
  // The reply is copied into the isolate by isolated-vm; no host-side copy is needed (nor left as garbage).
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  return { ok: true, data: asText ? bytes.toString('utf8') : content };
}
