// The egress part of `npm run bench` (`--only egress`): proxy overhead. One python program in a runc
// container does N small GETs in a loop through the egress proxy to a loopback upstream (urllib, a new
// connection per request, each timed inside the program); the same program on the host does the same GETs
// straight to the upstream; the ratio of their p50s is the proxy's overhead. Then the isolate: guest fetch
// (through the same proxy) against node http on the host, straight. Numbers compare within one run only.
// It must never leave a container, network or firewall rule behind: service.close() removes them.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@airlock/config';
import { startEmbedded } from '@airlock/gateway';
import { createLogger } from '@airlock/logging';
import { percentile } from './stats.ts';

export interface EgressBenchOptions {
  /** GETs per row. */
  samples: number;
  dockerSocket: string;
  signal: AbortSignal;
  print: (line: string) => void;
}

const run = promisify(execFile);

/** argv: url, count. Prints one line: the latencies (ms) of each GET, comma-separated. */
const PYTHON_LOOP = `
import sys, time, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
opener = urllib.request.build_opener() if len(sys.argv) < 4 else urllib.request.build_opener(urllib.request.ProxyHandler({}))
out = []
for _ in range(n):
    t0 = time.perf_counter()
    with opener.open(url, timeout=30) as r:
        r.read()
    out.append((time.perf_counter() - t0) * 1000)
print(','.join(f'{x:.3f}' for x in out))
`;

/** The guest's loop: performance.now() has millisecond resolution in the isolate, so the mean is exact only. */
const guestLoop = (url: string, n: number) => `
const times = [];
const t = performance.now();
for (let i = 0; i < ${n}; i++) {
  const t0 = performance.now();
  const r = await fetch(${JSON.stringify(url)});
  await r.text();
  times.push(performance.now() - t0);
}
console.log(times.join(','), (performance.now() - t) / ${n});
`;

interface Figures {
  p50: number;
  p99: number;
  mean: number;
  count: number;
}

function figures(latencies: number[]): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    count: sorted.length,
  };
}

function line(name: string, f: Figures): string {
  return `${name.padEnd(52)} p50 ${f.p50.toFixed(2).padStart(7)} ms   p99 ${f.p99.toFixed(2).padStart(7)} ms   mean ${f.mean.toFixed(2).padStart(7)} ms   n=${f.count}`;
}

function parseTimes(text: string): number[] {
  const times = text.trim().split(' ')[0]?.split(',').map(Number) ?? [];
  if (times.length === 0 || times.some((t) => !Number.isFinite(t)))
    throw new Error(`bad timings: ${text.slice(0, 300)}`);
  return times;
}

/** Host baseline for the isolate row: node http, a new connection per GET. */
async function nodeGets(url: string, n: number, signal: AbortSignal): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    signal.throwIfAborted();
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { agent: false }, (res) => {
        res.resume();
        res.once('end', resolve);
      });
      req.once('error', reject);
      req.end();
    });
    times.push(performance.now() - t0);
  }
  return times;
}

async function execute(
  url: string,
  body: unknown,
): Promise<{ stdout: string; stderr: string; outcome: string }> {
  const response = await fetch(`${url}/v1/executions?wait=300`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const execution = (await response.json()) as {
    result?: { stdout: string; stderr: string; outcome: string };
  };
  if (!execution.result) throw new Error(`no result: ${JSON.stringify(execution).slice(0, 500)}`);
  return execution.result;
}

export async function runEgressBench(options: EgressBenchOptions): Promise<void> {
  const { print, samples: n, signal } = options;
  const upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-egress-'));
  await writeFile(join(dir, 'hosts.json'), JSON.stringify({ 'upstream.test': ['127.0.0.1'] }));
  const config = loadConfig({
    AIRLOCK_PORT: '0',
    AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
    AIRLOCK_LOG_LEVEL: 'error',
    AIRLOCK_BACKENDS: 'isolate,docker',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_MAX_WALL_TIME_MS: '600000',
    AIRLOCK_MAX_CPU_TIME_MS: '600000',
    AIRLOCK_MAX_WAIT_SECONDS: '300',
    AIRLOCK_EGRESS: 'on',
    AIRLOCK_EGRESS_ALLOWANCES: `127.0.0.1:${port}`,
    AIRLOCK_EGRESS_HOSTS_FILE: join(dir, 'hosts.json'),
    AIRLOCK_EGRESS_REQUESTS_PER_MINUTE: '1000000',
  });
  const service = await startEmbedded(config, createLogger({ level: 'error' }));
  try {
    if (!service.egress) throw new Error('egress did not start (needs dockerd, iptables and nsenter)');
    const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    print(
      `egress bench — ${new Date().toISOString()} — ${n} GETs per row, a new connection each — load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at start`,
    );
    const network = { egress: 'proxy', allow: [{ host: 'upstream.test', ports: [port] }] };
    const limits = { wall_time_ms: 600_000, cpu_time_ms: 600_000 };
    // Warm-ups: the python interpreter's and the page cache's first run, the isolate's first fetch.
    await run('python3', ['-c', PYTHON_LOOP, `http://127.0.0.1:${port}/`, '20', 'direct']);
    signal.throwIfAborted();
    const host = figures(
      parseTimes(
        (await run('python3', ['-c', PYTHON_LOOP, `http://127.0.0.1:${port}/`, String(n), 'direct'])).stdout,
      ),
    );
    signal.throwIfAborted();
    const sandboxed = await execute(url, {
      language: 'python',
      backend: 'docker',
      code: PYTHON_LOOP,
      args: [`http://upstream.test:${port}/`, String(n)],
      limits,
      network,
    });
    if (sandboxed.outcome !== 'success')
      throw new Error(`runc loop ended ${sandboxed.outcome}: ${sandboxed.stderr}`);
    const proxied = figures(parseTimes(sandboxed.stdout));
    print(line('host python urllib → upstream (direct)', host));
    print(line('runc python urllib → egress proxy → upstream', proxied));
    print(`ratio proxied/direct p50 (runc, python): ${(proxied.p50 / host.p50).toFixed(2)}x`);

    signal.throwIfAborted();
    await nodeGets(`http://127.0.0.1:${port}/`, 20, signal);
    const hostNode = figures(await nodeGets(`http://127.0.0.1:${port}/`, n, signal));
    const guest = await execute(url, {
      language: 'javascript',
      code: guestLoop(`http://upstream.test:${port}/`, n),
      limits,
      network,
    });
    if (guest.outcome !== 'success') throw new Error(`isolate loop ended ${guest.outcome}: ${guest.stderr}`);
    const isolate = figures(parseTimes(guest.stdout));
    isolate.mean = Number(guest.stdout.trim().split(' ')[1]);
    print(line('host node http → upstream (direct)', hostNode));
    print(line('isolate fetch → egress proxy → upstream (ms clock)', isolate));
    print(`ratio proxied/direct mean (isolate fetch, node): ${(isolate.mean / hostNode.mean).toFixed(2)}x`);
  } finally {
    await service.close();
    upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
}
