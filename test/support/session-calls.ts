// Calls a session test makes through the HTTP API, given its `api(method, path, body)`: open a session, run a
// cell and read its result or value, and list the lifecycle event types about a subject. They assert the answers
// they read (a cell that does not succeed fails the test with its result).

import { expect } from 'vitest';
import type { JsonResponse } from './service.ts';

export type Api = (method: string, path: string, body?: unknown) => Promise<JsonResponse>;

/** Opens a session with `request`; answers its id once it is ready (201). */
export async function openSession(api: Api, request: Record<string, unknown>): Promise<string> {
  const response = await api('POST', '/v1/sessions', request);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.status).toBe('ready');
  return response.body.id;
}

/** Runs `code` as a cell of session `id` (60 s of wall time) and answers its result (it must succeed). */
export async function cellResult(api: Api, id: string, code: string): Promise<any> {
  const response = await api('POST', `/v1/sessions/${id}/executions`, {
    code,
    limits: { wall_time_ms: 60_000 },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.result.outcome, JSON.stringify(response.body.result)).toBe('success');
  return response.body.result;
}

/** Runs `code` as a cell of session `id` (60 s of wall time) and answers its value's text/plain. */
export async function cellValue(api: Api, id: string, code: string): Promise<string | undefined> {
  return (await cellResult(api, id, code)).value?.['text/plain'];
}

/** The types of the lifecycle events about `subject`, in feed order. */
export async function eventTypesAbout(api: Api, subject: string): Promise<string[]> {
  const feed = await api('GET', '/v1/events?limit=1000');
  expect(feed.status, JSON.stringify(feed.body)).toBe(200);
  return feed.body.data.filter((e: any) => e.subject === subject).map((e: any) => e.type);
}
