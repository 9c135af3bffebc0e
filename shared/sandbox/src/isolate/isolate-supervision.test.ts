// Supervision of the isolate host processes: cancel, a host killed mid-job, a host taken down by an isolate's
// memory, recycling, concurrency and a clean close. Real child processes, real signals.

import { afterEach, describe, expect, it } from 'vitest';
import { IsolateSandbox } from './isolate-sandbox.ts';
import { makeJob, processExists, runJob } from './test-jobs.ts';

const open: IsolateSandbox[] = [];

async function startSandbox(
  options: ConstructorParameters<typeof IsolateSandbox>[0],
): Promise<IsolateSandbox> {
  const sandbox = new IsolateSandbox(options);
  open.push(sandbox);
  await sandbox.start();
  return sandbox;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((sandbox) => sandbox.close()));
});

/** Starts an endless job and resolves once the guest has printed, i.e. it is running on a host. */
function startEndlessJob(sandbox: IsolateSandbox, signal: AbortSignal) {
  const started = Promise.withResolvers<void>();
  const result = sandbox.run(makeJob({ code: 'console.log("running"); for (;;) {}' }), {
    signal,
    onOutput: () => started.resolve(),
  });
  return { started: started.promise, result };
}

async function waitForHosts(sandbox: IsolateSandbox, count: number): Promise<void> {
  while (sandbox.hostPids().length < count) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('IsolateSandbox supervises its hosts', () => {
  it('cancels a running job promptly with outcome canceled, and keeps serving', async () => {
    const sandbox = await startSandbox({ hosts: 1 });
    const controller = new AbortController();
    const job = startEndlessJob(sandbox, controller.signal);
    await job.started;
    controller.abort();
    const result = await job.result;
    expect(result).toMatchObject({ outcome: 'canceled', exit_code: null, stdout: 'running\n' });
    expect(result.reason).toMatch(/^canceled by the caller/);
    const next = await runJob(sandbox, { code: 'console.log("next")' });
    expect(next.result.outcome).toBe('success');
  });

  it('does not start a job whose signal is already aborted', async () => {
    const sandbox = await startSandbox({ hosts: 1 });
    const { result } = await runJob(sandbox, { code: 'console.log("never")' }, AbortSignal.abort());
    expect(result).toMatchObject({ outcome: 'canceled', stdout: '' });
  });

  it('ends the job of a host killed with SIGKILL as internal_error and replaces the host', async () => {
    const sandbox = await startSandbox({ hosts: 1 });
    const [pid] = sandbox.hostPids();
    if (pid === undefined) throw new Error('no host pid');
    const job = startEndlessJob(sandbox, new AbortController().signal);
    await job.started;
    process.kill(pid, 'SIGKILL');
    const result = await job.result;
    expect(result).toMatchObject({
      outcome: 'internal_error',
      exit_code: null,
      signal: null,
      stdout: 'running\n',
    });
    expect(result.reason).toBe('isolate host process died (signal SIGKILL)');
    const next = await runJob(sandbox, { code: 'console.log("after the crash")' });
    expect(next.result).toMatchObject({ outcome: 'success', stdout: 'after the crash\n' });
    expect(sandbox.hostPids()).toHaveLength(1);
    expect(sandbox.hostPids()).not.toContain(pid);
    expect(processExists(pid)).toBe(false);
  });

  it('reports memory_limit when an isolate’s memory takes its host down, then runs the next job', async () => {
    const sandbox = await startSandbox({ hosts: 1 });
    const [pid] = sandbox.hostPids();
    // Growing a Map's table past the limit is fatal to V8 itself, not just to the isolate — unless the host's
    // own count of its memory, or its cap, stops the job first: whichever comes first, the host is replaced.
    const bomb = 'const m = new Map(); let i = 0; for (;;) m.set(i++, "v" + i);';
    const { result } = await runJob(sandbox, { code: bomb, limits: { memory_mb: 16 } });
    expect(result.outcome).toBe('memory_limit');
    expect(result.reason).toMatch(
      /^memory limit of 16 MB exceeded(?:; the isolate ran out of memory and took its host process down|; the isolate host process (?:reached its memory cgroup limit|held more than its cap of \d+ MB) and was killed)?$/,
    );
    const next = await runJob(sandbox, { code: 'console.log("recovered")' });
    expect(next.result).toMatchObject({ outcome: 'success', stdout: 'recovered\n' });
    expect(sandbox.hostPids()).not.toContain(pid);
  });

  it('replaces a host after maxJobsPerHost jobs', async () => {
    const sandbox = await startSandbox({ hosts: 1, maxJobsPerHost: 2 });
    const [first] = sandbox.hostPids();
    if (first === undefined) throw new Error('no host pid');
    for (let i = 0; i < 2; i += 1) await runJob(sandbox, { code: 'console.log(1)' });
    while (sandbox.hostPids().includes(first)) {
      const { result } = await runJob(sandbox, { code: 'console.log("served")' });
      expect(result).toMatchObject({ outcome: 'success', stdout: 'served\n' });
    }
    await waitForHosts(sandbox, 1);
    const { result } = await runJob(sandbox, { code: 'console.log("on a fresh host")' });
    expect(result.outcome).toBe('success');
    expect(sandbox.hostPids()).not.toContain(first);
    expect(sandbox.hostPids()).toHaveLength(1);
  });

  it('runs 10 concurrent jobs on 2 hosts, all successfully, each with its own output', async () => {
    const sandbox = await startSandbox({ hosts: 2 });
    const runs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        runJob(sandbox, {
          code: `await new Promise((r) => setTimeout(r, 5)); console.log("job ${i}", airlock.args[0]);`,
          args: [`${i}`],
        }),
      ),
    );
    runs.forEach(({ result }, i) => {
      expect(result).toMatchObject({ outcome: 'success', exit_code: 0, stdout: `job ${i} ${i}\n` });
    });
  });

  it('keeps nothing between jobs: globals and prototype changes die with their isolate', async () => {
    const sandbox = await startSandbox({ hosts: 1 });
    await runJob(sandbox, {
      code: 'globalThis.leftover = 1; Object.prototype.polluted = "yes"; Array.prototype.push = null;',
    });
    const { result } = await runJob(sandbox, {
      code: 'const a = []; a.push(1); console.log(typeof leftover, ({}).polluted, a.length);',
    });
    expect(result).toMatchObject({ outcome: 'success', stdout: 'undefined undefined 1\n' });
  });

  it('close() ends running jobs and leaves no host process behind', async () => {
    const sandbox = await startSandbox({ hosts: 2 });
    const pids = sandbox.hostPids();
    expect(pids).toHaveLength(2);
    const job = startEndlessJob(sandbox, new AbortController().signal);
    await job.started;
    await sandbox.close();
    const result = await job.result;
    expect(result).toMatchObject({ outcome: 'canceled', reason: 'the isolate sandbox was closed' });
    for (const pid of pids) expect(processExists(pid)).toBe(false);
    expect(sandbox.hostPids()).toEqual([]);
    await expect(
      sandbox.run(makeJob({ code: '1' }), { signal: new AbortController().signal }),
    ).rejects.toThrow('the isolate sandbox is closed');
  });
});
