// GET /v1/executions scaled out on NATS: two gateway processes and a worker on one real nats-server. What one
// gateway accepted, the other lists; a cursor made by one gateway pages on the other (they share the sealing
// key); pages read while more are submitted hold every execution exactly once; filters match; a forged cursor is
// refused.

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
});
