// GET /v1/executions scaled out on NATS: two gateway processes and a worker on one real nats-server. What one
// gateway accepted, the other lists; a cursor made by one gateway pages on the other (they share the sealing
// key); pages read while more are submitted hold every execution exactly once; filters match; a forged cursor is
// refused. The lifecycle event feed is the same on every gateway and resumes on a new one. Sessions live on the
// workers: one opened through one gateway is listed by the other, and its events are in the shared feed.

import type { Execution } from '@airlock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';

let cluster: NatsCluster;
let a: AirlockProcess;
let b: AirlockProcess;

async function submit(url: string, i: number): Promise<Execution> {
  const response = await fetch(`${url}/v1/executions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      language: 'javascript',
      code: i % 4 === 0 ? 'throw new Error("no")' : `console.log(${i})`,
      metadata: { team: `t${i % 3}` },
    }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as Execution;
}

async function listAll(url: string, query: string, limit: number, start?: string): Promise<Execution[]> {
  const all: Execution[] = [];
  let cursor: string | null | undefined = start;
  let first = true;
  while (first || cursor) {
    first = false;
    const q = `${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const response = await fetch(`${url}/v1/executions?${q}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Execution[]; next: string | null };
    all.push(...body.data);
    cursor = body.next;
  }
  return all;
}

beforeAll(async () => {
  cluster = await NatsCluster.start();
  [a, b] = await Promise.all([cluster.gateway(), cluster.gateway()]);
  await cluster.worker();
}, 240_000);

afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

describe('listing on NATS', () => {
  it('lists from either gateway, pages across them, and holds up under concurrent submissions', async () => {
    const made = await Promise.all(Array.from({ length: 60 }, (_, i) => submit(i % 2 ? a.url : b.url, i)));
    await until(async () => {
      const page = await listAll(b.url, 'status=finished', 1000);
      return page.length === made.length;
    }, 250);

    const during = Promise.all(Array.from({ length: 20 }, (_, i) => submit(a.url, 100 + i)));
    const firstPage = (await (await fetch(`${a.url}/v1/executions?limit=7`)).json()) as {
      data: Execution[];
      next: string;
    };
    const rest = await listAll(b.url, '', 7, firstPage.next);
    const added = await during;
    const ids = [...firstPage.data, ...rest].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const execution of made) expect(ids).toContain(execution.id);
    const known = new Set([...made, ...added].map((e) => e.id));
    expect(ids.every((id) => known.has(id))).toBe(true);

    await until(async () => (await listAll(a.url, 'status=finished', 1000)).length === 80, 250);
    const everything = await listAll(a.url, '', 1000);
    for (const [query, matches] of [
      ['outcome=error', (e: Execution) => e.result?.outcome === 'error'],
      ['metadata.team=t1', (e: Execution) => e.metadata.team === 't1'],
      [
        'metadata.team=t2&outcome=success',
        (e: Execution) => e.metadata.team === 't2' && e.result?.outcome === 'success',
      ],
      [
        `created_before=${everything[40]!.created_at}`,
        (e: Execution) => e.created_at < everything[40]!.created_at,
      ],
      ['language=python', () => false],
    ] as const) {
      const listed = await listAll(b.url, query, 9);
      expect(
        listed.map((e) => e.id),
        query,
      ).toEqual(everything.filter(matches).map((e) => e.id));
    }
    expect(everything.some((e) => e.result?.outcome === 'error')).toBe(true);

    const [payload, tag] = firstPage.next.split('.') as [string, string];
    const forged = await fetch(`${b.url}/v1/executions?cursor=${payload}x.${tag}`);
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: { field: string } }).error.field).toBe('query.cursor');
  }, 300_000);

  it('serves one event feed from every gateway, resumable after a gateway restarts', async () => {
    type FeedPage = { data: Array<{ type: string; subject: string; tenant: string }>; next: string };
    const read = async (url: string, query: string) =>
      (await (await fetch(`${url}/v1/events?${query}`)).json()) as FeedPage;
    const start = await read(a.url, 'limit=1000');
    let after = start.next;
    for (;;) {
      const page = await read(b.url, `limit=1000&after=${after}`);
      if (page.data.length === 0) break;
      after = page.next;
    }
    const one = await submit(a.url, 7);
    await until(async () => (await read(b.url, `after=${after}`)).data.length === 3, 250);
    const seen = await read(b.url, `after=${after}`);
    expect(seen.data.map((e) => [e.subject, e.type])).toEqual([
      [one.id, 'execution.accepted'],
      [one.id, 'execution.started'],
      [one.id, 'execution.finished'],
    ]);
    const finishedOnly = await read(a.url, `after=${after}&types=execution.finished`);
    expect(finishedOnly.data.map((e) => e.type)).toEqual(['execution.finished']);

    // Gateway a goes away; a new gateway resumes from a's cursor.
    a.child.kill('SIGTERM');
    await a.exited;
    const c = await cluster.gateway();
    expect((await read(c.url, `after=${seen.next}`)).data).toEqual([]);
    const two = await submit(c.url, 8);
    await until(async () => (await read(c.url, `after=${seen.next}`)).data.length === 3, 250);
    expect((await read(c.url, `after=${seen.next}`)).data.map((e) => e.subject)).toEqual([
      two.id,
      two.id,
      two.id,
    ]);

    // The stream on gateway b, resumed with Last-Event-ID, sees what gateway c accepted.
    const controller = new AbortController();
    const stream = await fetch(`${b.url}/v1/events/stream`, {
      headers: { 'last-event-id': seen.next },
      signal: controller.signal,
    });
    const reader = stream.body!.getReader();
    let text = '';
    while ((text.match(/^event: /gm) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    controller.abort();
    expect([...text.matchAll(/^event: (.*)$/gm)].map((m) => m[1])).toEqual([
      'execution.accepted',
      'execution.started',
      'execution.finished',
    ]);
    expect(text).toContain(two.id);
  }, 300_000);

  it('lists a session opened through one gateway on another, and feeds its events', async () => {
    const second = await cluster.gateway(); // gateway a was stopped above
    const opened = await fetch(`${b.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ language: 'javascript', metadata: { team: 'sessions' } }),
    });
    expect(opened.status).toBe(201);
    const session = (await opened.json()) as { id: string };
    const listed = await fetch(`${second.url}/v1/sessions?limit=10&metadata.team=sessions`);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { data: Array<{ id: string }> }).data.map((s) => s.id)).toEqual([
      session.id,
    ]);
    expect((await fetch(`${second.url}/v1/sessions/${session.id}`, { method: 'DELETE' })).status).toBe(200);
    // Other unknown paths keep the plain 404.
    const other = await fetch(`${b.url}/v1/sessionsx`);
    expect(((await other.json()) as { error: { message: string } }).error.message).toBe(
      'no route GET /v1/sessionsx',
    );
    const types = 'session.created,session.paused,session.resumed,session.closed';
    await until(async () => {
      const events = await fetch(`${b.url}/v1/events?types=${types}&limit=1000`);
      expect(events.status).toBe(200);
      const data = ((await events.json()) as { data: Array<{ type: string; subject: string }> }).data;
      return data.filter((e) => e.subject === session.id).length === 2;
    }, 200);
    const events = await fetch(`${second.url}/v1/events?types=${types}&limit=1000`);
    const data = ((await events.json()) as { data: Array<{ type: string; subject: string }> }).data;
    expect(data.filter((e) => e.subject === session.id).map((e) => e.type)).toEqual([
      'session.created',
      'session.closed',
    ]);
  }, 120_000);
});
