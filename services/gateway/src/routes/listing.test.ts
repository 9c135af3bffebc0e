// GET /v1/executions, /v1/sessions and /v1/events in process (Fastify inject; the event stream on a real
// loopback port): the real routes over the real queue and a SQLite store file, two tenants, 1,000 executions,
// pages read while more are submitted, every filter, refused query strings and cursors, and the event feed
// resumed from a cursor after the gateway is started again on the same data directory.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import type { Execution } from '@airlock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListingGateway, startListingGateway } from '../listing/listing-fixture.ts';

let dir: string;
let issuer: TestIssuer;
let gateway: ListingGateway;
const tokens: Record<string, string> = {};
const submitted: Record<string, Execution[]> = { acme: [], globex: [] };

const auth = (tenant: string) => ({ authorization: `Bearer ${tokens[tenant]}` });

async function submit(tenant: string, i: number): Promise<Execution> {
  const response = await gateway.app.inject({
    method: 'POST',
    url: '/v1/executions',
    headers: auth(tenant),
    payload: {
      language: i % 3 === 0 ? 'typescript' : 'javascript',
      code: `console.log(${i})`,
      metadata: { team: `t${i % 4}`, want: i % 5 === 0 ? 'error' : 'ok' },
    },
  });
  expect(response.statusCode).toBe(201);
  return response.json();
}

async function get(tenant: string, url: string) {
  return gateway.app.inject({ method: 'GET', url, headers: auth(tenant) });
}

/** Every page of a listing, following `next`. */
async function listAll(tenant: string, path: string, query: string, limit = 97): Promise<Execution[]> {
  const all: Execution[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const response = await get(tenant, `${path}?${q}`);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { data: Execution[]; next: string | null };
    expect(body.data.length).toBeLessThanOrEqual(limit);
    all.push(...body.data);
    cursor = body.next;
  } while (cursor !== null);
  return all;
}

async function settled(): Promise<void> {
  while (gateway.queue.stats().queued + gateway.queue.stats().running > 0) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-listing-'));
  issuer = await createTestIssuer();
  for (const tenant of ['acme', 'globex']) {
    tokens[tenant] = await issuer.mint({ tenant, intent: { max_executions: 100_000 } });
  }
  gateway = await startListingGateway(dir, issuer);
  for (let batch = 0; batch < 10; batch++) {
    const made = await Promise.all(
      Array.from({ length: 100 }, (_, k) => {
        const i = batch * 100 + k;
        const tenant = i % 2 === 0 ? 'acme' : 'globex';
        return submit(tenant, i).then((execution) => submitted[tenant]!.push(execution));
      }),
    );
    expect(made).toHaveLength(100);
  }
  await settled();
}, 300_000);

afterAll(async () => {
  await gateway?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /v1/executions', () => {
  it('pages through a tenant exactly once each, newest first, while more are submitted', async () => {
    const before = new Set(submitted.acme!.map((e) => e.id));
    const during = Promise.all(Array.from({ length: 60 }, (_, k) => submit('acme', 2000 + k)));
    const listed = await listAll('acme', '/v1/executions', '', 23);
    const added = await during;
    const ids = listed.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    for (const id of before) expect(ids).toContain(id); // no gaps
    const allowed = new Set([...before, ...added.map((e) => e.id)]);
    for (const execution of listed) {
      expect(execution.tenant).toBe('acme');
      expect(allowed.has(execution.id)).toBe(true);
    }
    const keys = listed.map((e) => `${e.created_at}|${e.id}`);
    expect(keys).toEqual([...keys].sort().reverse());
    submitted.acme!.push(...added);
    await settled();
  }, 300_000);

  it('answers every filter with exactly the matching executions of the tenant', async () => {
    const everything = await listAll('globex', '/v1/executions', '', 1000);
    expect(everything).toHaveLength(submitted.globex!.length);
    const sorted = [...everything].sort((a, b) => a.created_at.localeCompare(b.created_at));
    const middle = sorted[Math.floor(sorted.length / 2)]!.created_at;
    const cases: Array<[string, (e: Execution) => boolean]> = [
      ['status=finished', (e) => e.status === 'finished'],
      ['status=queued', (e) => e.status === 'queued'],
      ['outcome=error', (e) => e.result?.outcome === 'error'],
      ['outcome=success', (e) => e.result?.outcome === 'success'],
      ['language=typescript', (e) => e.language === 'typescript'],
      ['backend=isolate', (e) => e.backend === 'isolate'],
      ['backend=docker', (e) => e.backend === 'docker'],
      ['template=python-data', () => false],
      ['metadata.team=t1', (e) => e.metadata.team === 't1'],
      [
        'metadata.team=t3&metadata.want=error',
        (e) => e.metadata.team === 't3' && e.metadata.want === 'error',
      ],
      ['metadata.nothing=x', () => false],
      [`created_after=${middle}`, (e) => e.created_at > middle],
      [`created_before=${middle}`, (e) => e.created_at < middle],
      [
        `language=javascript&outcome=success&created_after=${sorted[0]!.created_at}`,
        (e) =>
          e.language === 'javascript' &&
          e.result?.outcome === 'success' &&
          e.created_at > sorted[0]!.created_at,
      ],
    ];
    for (const [query, matches] of cases) {
      const listed = await listAll('globex', '/v1/executions', query, 61);
      const expected = everything.filter(matches).map((e) => e.id);
      expect(
        listed.map((e) => e.id),
        query,
      ).toEqual(expected);
    }
    expect(everything.filter((e) => e.result?.outcome === 'error').length).toBeGreaterThan(0);
  }, 300_000);

  it('refuses bad query strings with a coded 400 naming the field', async () => {
    for (const [query, field] of [
      ['limit=0', 'query.limit'],
      ['limit=1001', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['created_after=yesterday', 'query.created_after'],
      ['created_before=2026-13-45T99:00:00Z', 'query.created_before'],
      ['colour=blue', 'query.colour'],
      ['status=done', 'query.status'],
      ['metadata.BAD KEY=x', 'query.metadata.BAD KEY'],
      ['cursor=garbage', 'query.cursor'],
    ] as const) {
      const response = await get('acme', `/v1/executions?${query.replace(' ', '%20')}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error, query).toMatchObject({ code: 'invalid_request', field });
    }
  });

  it("refuses a forged cursor, another list's cursor and another tenant's cursor", async () => {
    const first = (await get('acme', '/v1/executions?limit=5')).json() as { next: string };
    expect(first.next).toEqual(expect.any(String));
    const [payload, tag] = first.next.split('.') as [string, string];
    const forgedPayload = Buffer.from(JSON.stringify([Date.now() + 1e9, 'ex_z'])).toString('base64url');
    const sessions = (await get('acme', '/v1/sessions?limit=1')).json() as { next: string | null };
    expect(sessions.next).toBeNull();
    for (const [tenant, cursor] of [
      ['acme', `${forgedPayload}.${tag}`],
      ['acme', `${payload}.${tag.slice(0, -2)}AA`],
      ['globex', first.next],
    ] as const) {
      const response = await get(tenant, `/v1/executions?cursor=${cursor}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toMatchObject({ code: 'invalid_request', field: 'query.cursor' });
    }
    const own = await get('acme', `/v1/executions?limit=5&cursor=${first.next}`);
    expect(own.statusCode).toBe(200);
    expect(own.json().data.every((e: Execution) => e.tenant === 'acme')).toBe(true);
    const wrongList = await get('acme', `/v1/sessions?cursor=${first.next}`);
    expect(wrongList.statusCode).toBe(400);
  });
});

describe('GET /v1/events', () => {
  it("lists the tenant's lifecycle events in order, filters by type, and resumes after a restart", async () => {
    const page = (await get('acme', '/v1/events?limit=1000&types=execution.accepted')).json();
    expect(page.data.length).toBeGreaterThan(0);
    expect(page.data.every((e: { tenant: string; type: string }) => e.tenant === 'acme')).toBe(true);
    expect(new Set(page.data.map((e: { type: string }) => e.type))).toEqual(new Set(['execution.accepted']));
    const one = submitted.acme![0]!;
    const all = [];
    let after = '';
    for (;;) {
      const body = (await get('acme', `/v1/events?limit=1000${after ? `&after=${after}` : ''}`)).json();
      all.push(...body.data);
      if (body.data.length === 0) break;
      after = body.next;
    }
    const ofOne = all
      .filter((e: { subject: string }) => e.subject === one.id)
      .map((e: { type: string }) => e.type);
    expect(ofOne).toEqual(['execution.accepted', 'execution.started', 'execution.finished']);
    expect(all.some((e: { tenant: string }) => e.tenant !== 'acme')).toBe(false);

    // The same data directory, a new gateway: the cursor still resumes, and only newer events follow.
    await gateway[Symbol.asyncDispose]();
    gateway = await startListingGateway(dir, issuer);
    const empty = (await get('acme', `/v1/events?after=${after}`)).json();
    expect(empty.data).toEqual([]);
    const later = await submit('acme', 5000);
    await settled();
    const resumed = (await get('acme', `/v1/events?after=${after}`)).json();
    expect(resumed.data.map((e: { subject: string; type: string }) => [e.subject, e.type])).toEqual([
      [later.id, 'execution.accepted'],
      [later.id, 'execution.started'],
      [later.id, 'execution.finished'],
    ]);
    const garbage = await get('acme', '/v1/events?after=nope');
    expect(garbage.json().error).toMatchObject({ code: 'invalid_request', field: 'query.after' });
    const badType = await get('acme', '/v1/events?types=execution.exploded');
    expect(badType.json().error).toMatchObject({ code: 'invalid_request', field: 'query.types' });

    // The stream: resumed from Last-Event-ID, then live.
    const address = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const controller = new AbortController();
    const response = await fetch(`${address}/v1/events/stream`, {
      headers: { ...auth('acme'), 'last-event-id': after },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    const live = submit('acme', 5001);
    while ((text.match(/^event: /gm) ?? []).length < 6) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    controller.abort();
    const liveId = (await live).id;
    const names = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { subject: string });
    expect(names.slice(0, 3).every((e) => e.subject === later.id)).toBe(true);
    expect(names.slice(3).every((e) => e.subject === liveId)).toBe(true);
    expect(text).toMatch(/^id: [\w-]+\.[\w-]+$/m);
  }, 300_000);
});
