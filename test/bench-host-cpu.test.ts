// The container bench's readers of kernel counters and execution stamps (scripts/bench/proc-files.ts,
// process-census.ts and job-phases.ts): /proc/stat, /proc/<pid>/stat, cpuacct.usage and /proc/pressure/cpu
// parse to the figures the kernel states (this machine's own files included), a malformed file is refused
// rather than read as zero, a busy child process shows up under its program's name, a job's phases add up
// to its total with the slowest 1% picked by total, and a job counts as beside the engine when a pool
// creation or removal was in flight at a tick of its span (engine-overlap.ts).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { callsDuring, splitByOverlap } from '../scripts/bench/engine-overlap.ts';
import { describeTail, type JobTimes, phasesOf, tailBreakdown } from '../scripts/bench/job-phases.ts';
import {
  cgroupOf,
  cpuacctMountedAlone,
  parseCpuacctUsage,
  parsePidStat,
  parsePressure,
  parseProcStat,
} from '../scripts/bench/proc-files.ts';
import { otherPrograms, takeCensus } from '../scripts/bench/process-census.ts';

const PROC_STAT = [
  'cpu  2844470 7258 1349520 5068287 104227 0 32568 63562 0 0',
  'cpu0 1422235 3629 674760 2534143 52113 0 16284 31781 0 0',
  'cpu1 1422235 3629 674760 2534144 52114 0 16284 31781 0 0',
  'intr 1 2 3',
  'ctxt 99',
].join('\n');

describe('/proc/stat', () => {
  it('sums busy as user + nice + system + irq + softirq, idle as idle + iowait, in seconds', () => {
    const times = parseProcStat(PROC_STAT);
    expect(times.busy).toBeCloseTo((2844470 + 7258 + 1349520 + 0 + 32568) / 100, 6);
    expect(times.idle).toBeCloseTo((5068287 + 104227) / 100, 6);
    expect(times.steal).toBeCloseTo(635.62, 6);
    expect(times.cores).toBe(2);
  });

  it("reads this machine's file: one cpuN line per core, time that only grows", () => {
    const first = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    // Burns CPU until the kernel's busy count moves (it counts in 10 ms ticks, so one short spin may not show);
    // the test's own timeout bounds the loop.
    let second = first;
    let spin = 0;
    while (second.busy === first.busy) {
      for (let i = 0; i < 5e6; i++) spin += i;
      second = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    }
    expect(spin).toBeGreaterThan(0);
    expect(first.cores).toBe(availableParallelism());
    expect(second.busy).toBeGreaterThan(first.busy);
    expect(second.idle).toBeGreaterThanOrEqual(first.idle);
  });

  it('refuses a file without an aggregate cpu line, or with a field missing', () => {
    expect(() => parseProcStat('cpu0 1 2 3 4 5 6 7 8\nintr 1')).toThrow(/no aggregate cpu line/);
    expect(() => parseProcStat('cpu  1 2 3 4 5')).toThrow(/malformed/);
  });
});

describe('/proc/<pid>/stat', () => {
  it('takes the command name up to the last parenthesis, so spaces and parentheses in it parse', () => {
    const line = '4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 1 0 999 0 0';
    expect(parsePidStat(line)).toEqual({
      pid: 4242,
      comm: 'a (b) c',
      ppid: 17,
      cpuSeconds: 3.25,
      startTicks: 999,
    });
  });

  it('reads this process: its own pid, parent and command', () => {
    const stat = parsePidStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(stat.pid).toBe(process.pid);
    expect(stat.ppid).toBe(process.ppid);
    expect(stat.cpuSeconds).toBeGreaterThan(0);
    expect(readFileSync('/proc/self/comm', 'utf8').trim()).toBe(stat.comm);
  });

  it('refuses a line that is not one', () => {
    expect(() => parsePidStat('hello')).toThrow(/not a \/proc\/<pid>\/stat line/);
    expect(() => parsePidStat('1 (x) S 0')).toThrow(/malformed/);
  });
});

describe('cpuacct.usage', () => {
  it('reads nanoseconds as seconds and refuses an empty or non-numeric file', () => {
    expect(parseCpuacctUsage('7885018922846\n')).toBeCloseTo(7885.018922846, 9);
    expect(() => parseCpuacctUsage('')).toThrow(/malformed/);
    expect(() => parseCpuacctUsage('n/a')).toThrow(/malformed/);
  });
});

describe('cgroup v1 files', () => {
  const own = '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct';
  const joint = '33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct';
  it('moves the engine only where cpuacct is its own hierarchy, not co-mounted with cpu', () => {
    expect(cpuacctMountedAlone(own, '/sys/fs/cgroup/cpuacct')).toBe(true);
    expect(cpuacctMountedAlone(joint, '/sys/fs/cgroup/cpu,cpuacct')).toBe(false);
    expect(cpuacctMountedAlone(joint, '/sys/fs/cgroup/cpuacct')).toBe(false);
    expect(cpuacctMountedAlone('', '/sys/fs/cgroup/cpuacct')).toBe(false);
  });

  it("reads a process's group in the hierarchy of one controller", () => {
    const file = '9:name=systemd:/system.slice/docker.service\n3:cpu,cpuacct:/system.slice\n2:pids:/\n';
    expect(cgroupOf(file, 'cpuacct')).toBe('/system.slice');
    expect(cgroupOf(file, 'cpu')).toBe('/system.slice');
    expect(cgroupOf(file, 'memory')).toBeUndefined();
    expect(cgroupOf(readFileSync('/proc/self/cgroup', 'utf8'), 'pids')).toMatch(/^\//);
  });
});

describe('/proc/pressure/cpu', () => {
  it("reads the 'some' line's total (microseconds) as seconds", () => {
    const text =
      'some avg10=63.00 avg60=76.10 avg300=60.27 total=16450663305\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
    expect(parsePressure(text)).toBeCloseTo(16450.663305, 9);
    expect(() => parsePressure('full avg10=0.00 total=5')).toThrow(/no 'some/);
  });

  // This kind of machine has pressure stall information; the bench only reads it where present.
  it("reads this machine's file", () => {
    expect(parsePressure(readFileSync('/proc/pressure/cpu', 'utf8'))).toBeGreaterThanOrEqual(0);
  });
});

describe('process census', () => {
  it('counts a busy child under its program, and leaves out the pids it is told to', async () => {
    const before = takeCensus();
    // The child spends 200 ms of its own CPU, says so, and stays alive (idle) until its stdin closes.
    const spin =
      "const t = () => process.cpuUsage().user + process.cpuUsage().system; while (t() < 200_000); process.stdout.write('done'); process.stdin.resume()";
    const child = spawn(process.execPath, ['-e', spin], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const after = takeCensus();
    child.stdin.end();
    await exited;
    const node = (excluded: number[]) =>
      otherPrograms(before, after, new Set(excluded)).find((p) => p.program === 'node')?.seconds ?? 0;
    const childSeconds = node([process.pid]) - node([process.pid, child.pid!]);
    expect(childSeconds).toBeGreaterThanOrEqual(0.19);
  });
});

/** A job arriving at `at` (epoch ms) whose phases are the given durations. */
function job(at: number, admit: number, queue: number, lease: number, run: number, reply: number): JobTimes {
  const created = at + admit;
  const started = created + queue;
  const finished = started + lease + run;
  return {
    scheduled: at,
    received: finished + reply,
    execution: {
      created_at: new Date(created).toISOString(),
      started_at: new Date(started).toISOString(),
      finished_at: new Date(finished).toISOString(),
      result: { usage: { wall_ms: run } },
    },
  };
}

describe('job phases', () => {
  const at = Date.parse('2026-12-03T18:00:00.000Z');

  it("splits a job's time into admit, queue, lease, run and reply, which add up to its total", () => {
    expect(phasesOf(job(at, 2, 30, 5, 40, 1))).toEqual({
      admit: 2,
      queue: 30,
      lease: 5,
      run: 40,
      reply: 1,
      total: 78,
    });
  });

  it('has no phases for a job whose record never started', () => {
    const never = job(at, 1, 1, 1, 1, 1);
    expect(phasesOf({ ...never, execution: { ...never.execution, started_at: null } })).toBeUndefined();
  });

  it('sets the phase medians against the mean of the slowest 1% by total', () => {
    const jobs = Array.from({ length: 199 }, (_, i) => job(at + i * 1000, 1, 0, 10, 20, 1));
    jobs.push(job(at, 1, 500, 10, 20, 1), job(at, 1, 0, 300, 20, 1));
    const tail = tailBreakdown(jobs)!;
    expect(tail.jobs).toBe(201);
    expect(tail.median).toEqual({ admit: 1, queue: 0, lease: 10, run: 20, reply: 1, total: 32 });
    // 1% of 201 rounds up to 3 jobs: the two slow ones and one ordinary.
    expect(tail.slowest.count).toBe(3);
    expect(tail.slowest.minTotal).toBe(32);
    expect(tail.slowest.mean.queue).toBeCloseTo(500 / 3, 9);
    expect(tail.slowest.mean.lease).toBeCloseTo(320 / 3, 9);
    expect(describeTail(tail)).toContain('queue 0 → 167');
    expect(describeTail(tailBreakdown([]))).toBe('phases: no job with a complete record');
  });
});

describe('engine overlap', () => {
  // Calls in flight at each 100 ms tick: none, then one from 200 ms to 300 ms, then none.
  const series = [0, 0, 1, 1, 0, 0].map((count, i) => ({ at: i * 100, count }));

  it('counts the state at the start (the last tick before) and every tick inside the span', () => {
    expect(callsDuring(series, 0, 150)).toBe(0);
    expect(callsDuring(series, 150, 210)).toBe(1);
    expect(callsDuring(series, 310, 350)).toBe(1);
    expect(callsDuring(series, 410, 600)).toBe(0);
  });

  it('splits jobs into those beside a call and those alone, with latency and run percentiles', () => {
    const split = splitByOverlap(
      [
        { scheduled: 10, ended: 60, run: 20 },
        { scheduled: 20, ended: 90, run: 30 },
        { scheduled: 150, ended: 450, run: 200 },
        { scheduled: 420, ended: 480, run: undefined },
      ],
      series,
    );
    expect(split.alone).toEqual({ count: 3, p50: 60, p99: 70, runP50: 20 });
    expect(split.beside).toEqual({ count: 1, p50: 300, p99: 300, runP50: 200 });
  });
});
