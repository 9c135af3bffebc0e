// Starts the whole embedded service in-process on a free loopback port, with its own audit log in a temp dir,
// and removes everything on dispose (`await using service = await startService()`), or for a whole test file
// (`const svc = useService(env)`).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '@airlock/config';
import { type EmbeddedService, startEmbedded } from '@airlock/gateway';
import { createLogger } from '@airlock/logging';
import { afterAll, beforeAll } from 'vitest';

export interface TestService extends AsyncDisposable {
  url: string;
  auditPath: string;
  service: EmbeddedService;
  /** Every log line the service wrote, for secret-leak checks. */
  logs: string[];
  close(): Promise<void>;
}

export async function startService(env: Record<string, string> = {}): Promise<TestService> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-test-'));
  const auditPath = join(dir, 'audit.jsonl');
  const config = loadConfig({
    // Isolate only unless a test asks for containers: warm pools cost seconds and memory per service.
    AIRLOCK_BACKENDS: 'isolate',
    AIRLOCK_PORT: '0',
    // Templates not built yet stay `missing`: a test that wants a build asks for it.
    AIRLOCK_TEMPLATES_BUILD: 'off',
    AIRLOCK_AUDIT_LOG: auditPath,
    AIRLOCK_LOG_LEVEL: 'warn',
    ...env,
  });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL, destination });
  const service = await startEmbedded(config, logger);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await service.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    return { url: address, auditPath, service, logs, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Starts one service with `env` for the calling test file (beforeAll) and closes it after the file (afterAll).
 * Returns a getter: the service exists only once the file's tests run.
 */
export function useService(env: Record<string, string> = {}): () => TestService {
  let svc: TestService | undefined;
  beforeAll(async () => {
    svc = await startService(env);
  }, 180_000);
  afterAll(async () => {
    await svc?.close();
  }, 120_000);
  return () => {
    if (!svc) throw new Error('the service is not started (use it inside a test)');
    return svc;
  };
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON request; `body` that is a string is sent as is (for malformed-JSON tests). */
export async function call<T = any>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(url + path, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the test sees the raw text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** What a finished local javascript execution on the isolate shows, with its `result` fields. */
export const finishedJavascript = (result: Record<string, unknown>) => ({
  status: 'finished',
  tenant: 'local',
  language: 'javascript',
  backend: 'isolate',
  result,
});

/** Submits and waits for the finished execution. */
export async function run(url: string, request: Record<string, unknown>, waitSeconds = 30): Promise<any> {
  const response = await call(url, 'POST', `/v1/executions?wait=${waitSeconds}`, request);
  if (response.status !== 201)
    throw new Error(`expected 201, got ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Submits a javascript run that waits a minute (until the test cancels it); answers the submission's response. */
export function submitWaiting(url: string): Promise<JsonResponse> {
  return call(url, 'POST', '/v1/executions', {
    language: 'javascript',
    code: 'await new Promise((r) => setTimeout(r, 60000))',
    limits: { wall_time_ms: 60_000 },
  });
}
