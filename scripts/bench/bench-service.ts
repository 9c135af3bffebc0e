// The embedded Airlock a bench talks to: its own temp folder (audit log there), logs at `logLevel`, listening
// on loopback. Disposing it closes the service (which drains its containers and sessions) and removes the
// folder, on every path. Also the one JSON POST the benches make against it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '@airlock/config';
import { type EmbeddedService, startEmbedded } from '@airlock/gateway';
import { createLogger } from '@airlock/logging';

export interface BenchService extends AsyncDisposable {
  service: EmbeddedService;
  config: Config;
  url: string;
  /** The temp folder; `env` may put the data dir or anything else in it. */
  dir: string;
}

/** Starts the service with AIRLOCK_PORT 0, the audit log in a fresh `prefix…` folder, and `env(dir)` on top. */
export async function startBenchService(
  prefix: string,
  logLevel: 'error' | 'warn',
  env: (dir: string) => Record<string, string>,
): Promise<BenchService> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const remove = () => rm(dir, { recursive: true, force: true });
  let service: EmbeddedService | undefined;
  try {
    const config = loadConfig({
      AIRLOCK_PORT: '0',
      AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
      AIRLOCK_LOG_LEVEL: logLevel,
      ...env(dir),
    });
    service = await startEmbedded(config, createLogger({ level: logLevel }));
    const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const started = service;
    return {
      service,
      config,
      url,
      dir,
      [Symbol.asyncDispose]: async () => {
        await started.close();
        await remove();
      },
    };
  } catch (error) {
    await service?.close();
    await remove();
    throw error;
  }
}

/** POSTs `body` (JSON, or text already JSON) to `url`; the response, not yet read. */
export function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
