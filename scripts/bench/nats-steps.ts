// One-process step trace of the NATS queue's hot path (`node scripts/bench/nats-steps.ts [jobs]`): a gateway
// queue and a worker queue on their own connections to one nats-server, a do-nothing worker, jobs submitted
// and awaited one at a time; prints the p50 of each step between submit and the waiter's answer. The steps
// are timed by wrapping the record store's and the job runner's methods in this process only (the queue's
// code is unchanged): a diagnostic for where the milliseconds go, not a benchmark row.

import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { newExecutionId } from '@airlock/protocol';
import { connectNats, JetStreamJobQueue, requestHash } from '@airlock/queue';
import { startNatsServer } from '@airlock/testing';
import { ExecutionRecords } from '../../shared/queue/src/jetstream/execution-records.ts';
import { JobRunner } from '../../shared/queue/src/jetstream/job-runner.ts';
import { newExecution, REQUEST } from '../../shared/queue/testing/fixtures.ts';

const jobs = Number(process.argv[2] ?? 300);
type Marks = Map<string, number>;
const marks = new Map<string, Marks>();
const mark = (id: string, step: string) => {
  const m = marks.get(id) ?? new Map<string, number>();
  marks.set(id, m);
  if (!m.has(step)) m.set(step, performance.now());
};

/** Which queue a records instance belongs to: the first one used is the gateway's (it submits first). */
const owners = new WeakMap<object, string>();
let ownerCount = 0;
// Wraps a method so its start and end are marked per execution id (found by `idOf` from the arguments).
function wrap<T extends object>(
  proto: T,
  name: string,
  idOf: (args: unknown[]) => string | undefined,
  label: string,
) {
  const original = (proto as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
  (proto as Record<string, unknown>)[name] = async function (this: unknown, ...args: unknown[]) {
    const id = idOf(args);
    if (!owners.has(this as object)) owners.set(this as object, ++ownerCount === 1 ? 'gw' : 'wk');
    const who = proto === (JobRunner.prototype as object) ? 'wk' : owners.get(this as object);
    let n = 1;
    while (id !== undefined && marks.get(id)?.has(`${who} ${label}${n} start`)) n++;
    const tag = `${who} ${label}${n}`;
    if (id !== undefined) mark(id, `${tag} start`);
    try {
      return await original.apply(this, args);
    } finally {
      if (id !== undefined) mark(id, `${tag} end`);
    }
  };
}
const recordId = (args: unknown[]) => (args[0] as { execution: { id: string } }).execution.id;
wrap(ExecutionRecords.prototype, 'createUnlisted', recordId, 'create');
wrap(ExecutionRecords.prototype, 'read', (a) => a[0] as string, 'read');
wrap(ExecutionRecords.prototype, 'update', recordId, 'update');
wrap(ExecutionRecords.prototype, 'replace', recordId, 'replace');
wrap(
  JobRunner.prototype,
  'handle',
  (a) => {
    const data = (a[0] as { data: Uint8Array }).data;
    return (JSON.parse(Buffer.from(data).toString()) as { id: string }).id;
  },
  'handle',
);

// Disposed before the exit below (an `await using` at module level would be skipped by process.exit).
const nats = await startNatsServer({ jetstream: true });
try {
  const open = async () =>
    JetStreamJobQueue.open({
      connection: await connectNats({ servers: [nats.url], name: 'steps' }),
      statsIntervalMs: 0,
    });
  const gateway = await open();
  const worker = await open();
  worker.consume(async (job) => {
    mark(job.execution.id, 'worker ran');
    return {
      outcome: 'success',
      exit_code: 0,
      stdout: '',
      stderr: '',
      wall_time_ms: 0,
      cpu_time_ms: 0,
    } as never;
  });
  const hash = requestHash(REQUEST);
  /** CPU milliseconds a process has used (user + system), from /proc. */
  const cpuMs = async (pid: number) => {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ = 100)
  };
  let serverCpu = 0;
  let ownCpu = 0;
  const rows: Array<Map<string, number>> = [];
  for (let i = 0; i < jobs + 20; i++) {
    const execution = { ...newExecution('acme'), id: newExecutionId() };
    if (i === 20) {
      serverCpu = await cpuMs(nats.pid!);
      ownCpu = await cpuMs(process.pid);
    }
    const t0 = performance.now();
    mark(execution.id, 'submit');
    const { execution: accepted } = await gateway.submit({ execution, request: REQUEST, requestHash: hash });
    mark(execution.id, 'submit returned');
    const done = await gateway.wait('acme', accepted.id, 10_000);
    mark(execution.id, 'wait returned');
    if (done.status !== 'finished') throw new Error(`not finished: ${JSON.stringify(done)}`);
    const m = marks.get(execution.id)!;
    if (i >= 20) rows.push(new Map([...m].map(([k, v]) => [k, v - t0])));
    marks.delete(execution.id);
  }
  const p50 = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const steps = [...new Set(rows.flatMap((r) => [...r.keys()]))];
  const at = steps.map((s) => ({ s, p: p50(rows.flatMap((r) => (r.has(s) ? [r.get(s)!] : []))) }));
  at.sort((a, b) => a.p - b.p);
  console.log(
    `${jobs} jobs, p50 ms since submit (load ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  const perJob = async (pid: number, from: number) => (((await cpuMs(pid)) - from) / jobs).toFixed(3);
  console.log(
    `CPU ms per job: nats-server ${await perJob(nats.pid!, serverCpu)}, this process (gateway + worker + client) ${await perJob(process.pid, ownCpu)}`,
  );
  let previous = 0;
  for (const { s, p } of at) {
    console.log(`${s.padEnd(24)} ${p.toFixed(3).padStart(8)}  (+${(p - previous).toFixed(3)})`);
    previous = p;
  }
  await gateway.close();
  await worker.close();
} finally {
  await nats[Symbol.asyncDispose]();
}
process.exit(0);
