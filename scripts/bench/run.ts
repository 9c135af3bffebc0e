// `npm run bench`: JavaScript hello-world through POST /v1/executions?wait against a bare in-process
// isolated-vm create-eval-dispose baseline measured in the same run, at concurrency 1 and 8, with their ratio.
// Numbers are for comparison within one run only; this machine is noisy.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@airlock/config';
import { startEmbedded } from '@airlock/gateway';
import { createLogger } from '@airlock/logging';
import ivm from 'isolated-vm';
import { measure, row } from './stats.ts';

const { values: flags } = parseArgs({ options: { n: { type: 'string', default: '400' } } });
const N1 = Number(flags.n);
const N8 = N1 * 2;
const HELLO = 'console.log("hello, world")';

async function bareIsolate(): Promise<void> {
  const isolate = new ivm.Isolate({ memoryLimit: 128 });
  try {
    const context = await isolate.createContext();
    const script = await isolate.compileScript('"hello, world"');
    await script.run(context, { timeout: 1000 });
  } finally {
    isolate.dispose();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-'));
  const config = loadConfig({
    AIRLOCK_PORT: '0',
    AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
    AIRLOCK_LOG_LEVEL: 'error',
    AIRLOCK_MAX_QUEUED: '100000',
    AIRLOCK_RETENTION_SECONDS: '60',
  });
  const service = await startEmbedded(config, createLogger({ level: 'error' }));
  try {
    const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const body = JSON.stringify({ language: 'javascript', code: HELLO });
    const viaRest = async () => {
      const response = await fetch(`${url}/v1/executions?wait=30`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const execution = (await response.json()) as { result?: { stdout?: string } };
      if (execution.result?.stdout !== 'hello, world\n')
        throw new Error(`unexpected result ${JSON.stringify(execution)}`);
    };

    await measure(50, 2, bareIsolate);
    await measure(50, 2, viaRest);

    const bare1 = await measure(N1, 1, bareIsolate);
    const rest1 = await measure(N1, 1, viaRest);
    const bare8 = await measure(N8, 8, bareIsolate);
    const rest8 = await measure(N8, 8, viaRest);

    console.log(
      `airlock bench — ${new Date().toISOString()} — node ${process.version}, ${config.AIRLOCK_CONCURRENCY} workers, audit fsync ${config.AIRLOCK_AUDIT_FSYNC}`,
    );
    console.log(row('bare isolate create+eval+dispose, c=1', bare1));
    console.log(row('REST POST ?wait javascript hello, c=1', rest1));
    console.log(row('bare isolate create+eval+dispose, c=8', bare8));
    console.log(row('REST POST ?wait javascript hello, c=8', rest8));
    const ratio1 = rest1.p50 / bare1.p50;
    const ratio8 = rest8.p50 / bare8.p50;
    console.log(
      `ratio REST/bare p50, c=1: ${ratio1.toFixed(2)}x (target <= 2.5x: ${ratio1 <= 2.5 ? 'met' : 'NOT met'})`,
    );
    console.log(`ratio REST/bare p50, c=8: ${ratio8.toFixed(2)}x`);
  } finally {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
