// Test support for the scrubbing tests: a proxy holding two credential bindings in front of a raw loopback TLS
// upstream that answers each request with what the test builds from the credential value it received, and
// builders of raw HTTP responses. `reflect` checks on every call that the upstream really got the value and
// that the sandbox never saw it verbatim.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EgressRecord } from '@airlock/protocol';
import { afterAll, beforeAll, expect } from 'vitest';
import { EgressProxy } from './egress-proxy.ts';
import { TableResolver } from './resolver.ts';
import {
  API_BINDING,
  basic,
  credentialOptions,
  makeTestPki,
  type ProxyAnswer,
  startRawTlsUpstream,
  viaProxy,
} from './test-upstreams.ts';

/** Punctuation that JSON, HTML and URLs all escape; its base64 has `+` and (one byte in) `/`. */
export const SECRET = `canary-7Hq2Lx?-Zq+/=~ <&>"'`;
/** Only token characters, so it can be a header name. */
export const TOKEN = 'Tok3n-Q7vX9_yZ.w~4';
/** The run's byte budget in these tests. */
export const BUDGET = 4 * 1024 * 1024;

export const stars = (text: string) => '*'.repeat(text.length);
export const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
export const mixedCase = (text: string) => [...text].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
export const json = (text: string) => JSON.stringify(text).slice(1, -1);
export const base64 = (text: string, url = false) =>
  Buffer.from(text, 'latin1').toString(url ? 'base64url' : 'base64');

/** A response with Content-Length. */
export const whole = (head: string[], body: string | Buffer = '', status = '200 OK') => {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const lines = [...head, `Content-Length: ${bytes.length}`].join('\r\n');
  return [Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\n${lines}\r\n\r\n`, 'latin1'), bytes])];
};

/** A response in chunks (the head names its framing): each piece one chunk, written on its own; then trailers. */
export const chunked = (head: string[], pieces: Array<string | Buffer>, trailers: string[] = []) => [
  `HTTP/1.1 200 OK\r\n${head.join('\r\n')}\r\n\r\n`,
  ...pieces.map((p) => {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
    return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
  }),
  `0\r\n${trailers.map((t) => `${t}\r\n`).join('')}\r\n`,
];

/** The headers the upstream set, as the sandbox got them (those the proxy's own server adds left out). */
export function upstreamHeaders(answer: ProxyAnswer): string[] {
  const out: string[] = [];
  for (let i = 0; i < answer.rawHeaders.length; i += 2) {
    const [name = '', value = ''] = answer.rawHeaders.slice(i, i + 2);
    if (!/^(date|connection|keep-alive|transfer-encoding)$/i.test(name)) out.push(name, value);
  }
  return out;
}

export interface Reflection {
  answer: ProxyAnswer;
  record: EgressRecord;
  /** Everything the sandbox got: 1xx headers, reason phrase, headers, trailers, body. */
  seen: string;
}

export interface ScrubbingFixture extends AsyncDisposable {
  /** One request from a run holding `credential`; the upstream answers `respond(value it received)`. */
  reflect(
    respond: (value: string) => Array<string | Buffer>,
    credential?: 'api' | 'names',
  ): Promise<Reflection>;
  /** The same request, for answers the sandbox never gets whole: resolves with the record once it failed. */
  reflectCut(respond: (value: string) => Array<string | Buffer>): Promise<EgressRecord>;
  close(): Promise<void>;
}

export async function startScrubbingFixture(): Promise<ScrubbingFixture> {
  const pki = await makeTestPki(['api.bound.test', 'names.bound.test']);
  let respond: (value: string) => Array<string | Buffer> = () => [];
  const upstream = await startRawTlsUpstream(pki, ({ headers }) =>
    respond((headers.authorization ?? headers['x-api-key'] ?? '').replace(/^Bearer /, '')),
  );
  const secretsDir = await mkdtemp(join(tmpdir(), 'airlock-scrub-secrets-'));
  const close = async () => {
    await proxy?.close();
    await upstream.close();
    await pki.close();
    await rm(secretsDir, { recursive: true, force: true });
  };
  let proxy: EgressProxy | undefined;
  try {
    await writeFile(join(secretsDir, 'api-token'), SECRET, { mode: 0o600 });
    await writeFile(join(secretsDir, 'names'), TOKEN, { mode: 0o600 });
    proxy = await EgressProxy.start({
      host: '127.0.0.1',
      port: 0,
      resolver: new TableResolver({ 'api.bound.test': ['127.0.0.1'], 'names.bound.test': ['127.0.0.1'] }),
      allowances: [{ address: '127.0.0.1', port: upstream.port }],
      server: { ports: [upstream.port] },
      ...credentialOptions(pki, secretsDir, {
        api: API_BINDING,
        names: { hosts: ['names.bound.test'], header: 'X-Api-Key' },
      }),
      runLimits: { maxBytes: BUDGET },
    });
  } catch (error) {
    await close();
    throw error;
  }
  const started = proxy;
  let runs = 0;
  const request = async (answer: (value: string) => Array<string | Buffer>, credential: 'api' | 'names') => {
    respond = answer;
    const id = `ex_scrub${++runs}`;
    const host = `${credential}.bound.test`;
    const access = started.openRun({
      executionId: id,
      network: { egress: 'proxy', allow: [{ host, ports: [upstream.port] }], credentials: [credential] },
      ttlMs: 60_000,
    });
    const sentinel = access.sentinels[credential] as string;
    const reply = await viaProxy(started.address.port, `http://${host}:${upstream.port}/`, {
      auth: basic(access.username, access.password),
      headers: credential === 'api' ? { authorization: `Bearer ${sentinel}` } : { 'x-api-key': sentinel },
    }).catch((error: Error) => error);
    // The upstream really received the value, so what it sent back is the real secret.
    const received = upstream.requests.at(-1)?.headers;
    expect(credential === 'api' ? received?.authorization : received?.['x-api-key']).toBe(
      credential === 'api' ? `Bearer ${SECRET}` : TOKEN,
    );
    const { records } = started.closeRun(id);
    expect(records).toHaveLength(1);
    return { reply, record: records[0] as EgressRecord };
  };
  return {
    async reflect(answer, credential = 'api') {
      const { reply, record } = await request(answer, credential);
      if (reply instanceof Error) throw reply;
      const seen = [
        ...reply.informational.flatMap((info) => info.rawHeaders),
        reply.statusMessage,
        ...reply.rawHeaders,
        ...reply.rawTrailers,
        reply.body,
      ].join('\n');
      expect(seen).not.toContain(credential === 'api' ? SECRET : TOKEN);
      return { answer: reply, record, seen };
    },
    async reflectCut(answer) {
      const { reply, record } = await request(answer, 'api');
      expect(reply).toBeInstanceOf(Error);
      return record;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The fixture of one test file: started before its tests, closed after them. */
export function useScrubbingFixture(): Pick<ScrubbingFixture, 'reflect' | 'reflectCut'> {
  let fixture: ScrubbingFixture | undefined;
  beforeAll(async () => {
    fixture = await startScrubbingFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });
  const started = () => {
    if (!fixture) throw new Error('the scrubbing fixture is not started');
    return fixture;
  };
  return {
    reflect: (respond, credential) => started().reflect(respond, credential),
    reflectCut: (respond) => started().reflectCut(respond),
  };
}
