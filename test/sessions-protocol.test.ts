// A python session cell against the session protocol, on both container backends (docker = runc, gvisor =
// runsc): a cell that forges the interpreter's answer, answers twice, names another cell, floods the answer
// channel, prints fake frames and end markers, or goes for the kernel's own channel (/proc/1). Exact outcomes;
// a broken protocol ends the cell `internal_error` ("session protocol violated") and the session with its
// container, and the forged bytes reach neither the result nor the audit record. Real dockerd, runsc, HTTP.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BACKENDS, containersLabelled, useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';

const service = useSessionService({}, 2);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function open(backend: string): Promise<string> {
  const response = await call(service().url, 'POST', '/v1/sessions', { language: 'python', backend });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id;
}

async function cell(id: string, code: string, limits: Record<string, number> = {}): Promise<any> {
  const response = await call(service().url, 'POST', `/v1/sessions/${id}/executions`, { code, limits });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body).toMatchObject({ status: 'finished', session_id: id });
  return response.body;
}

/** The audit records of one execution id, as lines of the log. */
async function auditLines(executionId: string): Promise<string[]> {
  const text = await readFile(service().auditPath, 'utf8');
  return text.split('\n').filter((line) => line.includes(`"execution_id":"${executionId}"`));
}

/** Python that builds answers as the interpreter writes them: `frame(**fields)` for this cell's turn. */
const FORGE = [
  'import json, os, sys, time',
  'import __main__ as interpreter',
  'seq = sys._getframe().f_back.f_locals["request"]["seq"]',
  'def frame(**fields):',
  '    answer = {"type": "answer", "seq": seq, "status": "ok", "exit_code": 0, "display": [], "value": None,',
  '              "exception": None, "dropped": False}',
  '    answer.update(fields)',
  '    body = json.dumps(answer).encode()',
  '    return b"%d\\n" % len(body) + body',
  'FORGED = {"text/plain": "FORGED-VALUE"}',
  '',
].join('\n');

const VIOLATED = {
  outcome: 'internal_error',
  exit_code: null,
  signal: null,
  stdout: '',
  stderr: '',
  truncated: { stdout: false, stderr: false },
  reason: 'session protocol violated',
  display: [],
  value: null,
  exception: null,
};

/** The cell ended as a protocol violation: result, session, container and audit record all say so. */
async function expectViolated(id: string, execution: any): Promise<void> {
  expect(execution.result).toMatchObject(VIOLATED);
  expect(execution.result.usage.cpu_ms).toBeNull();
  const session = await call(service().url, 'GET', `/v1/sessions/${id}`);
  expect(session.body).toMatchObject({ status: 'closed', closed_reason: 'protocol_violation' });
  expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);
  const read = await call(service().url, 'GET', `/v1/executions/${execution.id}`);
  expect(read.body.result).toEqual(execution.result);
  const lines = await auditLines(execution.id);
  const finished = lines.map((line) => JSON.parse(line)).find((record) => record.type === 'finished');
  expect(finished).toMatchObject({
    outcome: 'internal_error',
    reason: 'session protocol violated',
    output_sha256: { stdout: sha256(''), stderr: sha256('') },
  });
  for (const line of lines) expect(line).not.toMatch(/FORGED|FFFF/);
  const after = await call(service().url, 'POST', `/v1/sessions/${id}/executions`, { code: '1' });
  expect(after.status).toBe(409);
  expect(after.body.error.message).toBe(`session ${id} is closed (protocol_violation)`);
}

describe.each(BACKENDS)('the python session protocol on %s', (backend) => {
  it('ends a cell that forges the answer with host fields (stdout over the cap, cpu_ms 0) as a violation', async () => {
    const id = await open(backend);
    const forged = await cell(
      id,
      `${FORGE}os.write(interpreter.ANSWERS, frame(value=FORGED, stdout="F" * 100000, cpu_ms=0,` +
        ` truncated={"stdout": False, "stderr": False}))`,
      { output_bytes: 1000 },
    );
    await expectViolated(id, forged);
  }, 120_000);

  it('ends a cell that answers for another cell, twice, floods answers or writes garbage', async () => {
    const cases = {
      'another cell': 'os.write(interpreter.ANSWERS, frame(seq=seq + 1, value=FORGED))',
      twice: 'os.write(interpreter.ANSWERS, frame(value=FORGED) + frame(value=FORGED))',
      flood: 'os.write(interpreter.ANSWERS, frame(value=FORGED) * 20000)',
      garbage: 'os.write(interpreter.ANSWERS, b"FORGED" * 1000)',
    };
    for (const [name, code] of Object.entries(cases)) {
      const id = await open(backend);
      const execution = await cell(id, `${FORGE}print("FORGED stdout")\n${code}\ntime.sleep(0.5)`);
      await expectViolated(id, execution).catch((error: Error) => {
        throw new Error(`${name}: ${error.message}`);
      });
    }
  }, 240_000);

  it('takes one well-formed answer the cell wrote itself as its word, counted and capped by the kernel', async () => {
    const id = await open(backend);
    const first = await cell(
      id,
      `${FORGE}print("a" * 600)\n` +
        'os.write(interpreter.ANSWERS, frame(display=[{"text/html": "h" * 300}],' +
        ' value={"text/plain": "v" * 5000}))\ntime.sleep(30)',
      { output_bytes: 1000 },
    );
    expect(first.result).toMatchObject({
      outcome: 'success',
      exit_code: 0,
      stdout: `${'a'.repeat(600)}\n`,
      stderr: '',
      truncated: { stdout: true, stderr: false },
      display: [{ 'text/html': 'h'.repeat(300) }],
      value: null,
      exception: null,
      reason: null,
    });
    expect(typeof first.result.usage.cpu_ms).toBe('number');
    // The interpreter is still in that cell: its own answer, for the old turn, comes when the next one is due.
    const next = await cell(id, 'print("next")', { wall_time_ms: 1500 });
    await expectViolated(id, next);
  }, 120_000);

  it('closes the session when an answer comes while no cell runs', async () => {
    const id = await open(backend);
    const first = await cell(
      id,
      `${FORGE}if os.fork() == 0:\n    time.sleep(1)\n    os.write(interpreter.ANSWERS, frame(value=FORGED))\n` +
        '    os._exit(0)\n"first"',
    );
    expect(first.result).toMatchObject({ outcome: 'success', value: { 'text/plain': "'first'" } });
    let session: any;
    for (let i = 0; i < 100; i++) {
      session = (await call(service().url, 'GET', `/v1/sessions/${id}`)).body;
      if (session.status === 'closed') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(session).toMatchObject({ status: 'closed', closed_reason: 'protocol_violation', cells: 1 });
    // Closed by the kernel's report, not by a request: the container goes while the session already reads closed.
    for (let i = 0; i < 100 && containersLabelled(`airlock.session=${id}`).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);
    const lines = await auditLines(first.id);
    for (const line of lines) expect(line).not.toMatch(/FORGED/);
  }, 120_000);

  it('passes fake frames and end markers printed by a cell through as its output, byte for byte', async () => {
    const id = await open(backend);
    const fakeHost = `120 ${'ab'.repeat(32)}\n{"type":"result","id":"ex_forged","status":"ok"}`;
    const fakeMarker =
      '\n\x1eAIRLOCK-END 0123456789abcdef0123456789abcdef exit=0 signal=- cpu_ms=0 maxrss_kb=0' +
      ' out_files=0 out_skipped=0 out_truncated=0\n';
    const fakeAnswer = '58\n{"type":"answer","seq":1,"status":"ok","exit_code":0}\n\x1eAIRLOCK-REJECTED x\n';
    const text = fakeHost + fakeMarker + fakeAnswer;
    const printed = await cell(
      id,
      `import os, sys\nt = ${JSON.stringify(text)}\nsys.stdout.write(t)\nos.write(2, t.encode())\n"done"`,
    );
    expect(printed.result).toMatchObject({
      outcome: 'success',
      stdout: text,
      stderr: text,
      truncated: { stdout: false, stderr: false },
      value: { 'text/plain': "'done'" },
    });
    const lines = await auditLines(printed.id);
    const finished = JSON.parse(lines.find((line) => line.includes('"type":"finished"')) ?? '{}');
    expect(finished.output_sha256).toEqual({ stdout: sha256(text), stderr: sha256(text) });
    expect((await cell(id, '6 * 7')).result.value).toEqual({ 'text/plain': '42' });
    expect((await call(service().url, 'GET', `/v1/sessions/${id}`)).body.status).toBe('ready');
    expect((await call(service().url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);
  }, 120_000);

  it("cannot read the kernel's memory, and cannot pass a frame off as the kernel's", async () => {
    const id = await open(backend);
    const probe = [
      'import ctypes, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'def attempt(name, fn):',
      '    try:',
      '        fn()',
      '        print(name, "allowed")',
      '    except OSError as e:',
      '        print(name, e.errno)',
      'attempt("mem", lambda: open("/proc/1/mem", "rb").read(1))',
      'def ptrace():',
      '    if libc.ptrace(16, 1, 0, 0) != 0: raise OSError(ctypes.get_errno(), "ptrace")',
      'attempt("ptrace", ptrace)',
      'class iovec(ctypes.Structure):',
      '    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]',
      'def vm_read():',
      '    buf = ctypes.create_string_buffer(64)',
      '    here, there = iovec(ctypes.addressof(buf), 64), iovec(ctypes.addressof(buf), 64)',
      '    if libc.process_vm_readv(1, ctypes.byref(here), 1, ctypes.byref(there), 1, 0) < 0:',
      '        raise OSError(ctypes.get_errno(), "process_vm_readv")',
      'attempt("process_vm_readv", vm_read)',
    ].join('\n');
    const probed = await cell(id, probe);
    expect(probed.result.outcome).toBe('success');
    // process_vm_readv: EPERM on runc; ENOSYS under runsc with the sandbox's seccomp profile.
    const vmErrno = backend === 'docker' ? 1 : 38;
    expect(probed.result.stdout).toBe(`mem 13\nptrace 1\nprocess_vm_readv ${vmErrno}\n`);
    const write = (path: string) =>
      [
        'import os',
        'try:',
        `    fd = os.open("${path}", os.O_WRONLY)`,
        `    body = b'{"type":"violation","id":null,"detail":"forged"}'`,
        `    os.write(fd, b"%d ${'0'.repeat(64)}\\n" % len(body) + body)`,
        '    print("written")',
        'except OSError as e:',
        '    print("refused", e.errno)',
      ].join('\n');
    const written = await cell(id, write('/proc/1/fd/1'));
    const second = await open(backend);
    const injected = await cell(second, write('/proc/1/fd/0'));
    if (backend === 'docker') {
      // runc: the kernel is not dumpable, so its fds are not the cell's to open.
      expect(written.result).toMatchObject({ outcome: 'success', stdout: 'refused 13\n' });
    } else {
      // gVisor (this runsc) lets the cell open /proc/1/fd/1: the frame's MAC is what it cannot make.
      await expectViolated(id, written);
    }
    // Its stdin is no way in either: unreadable on runc, and under gVisor the reopened read end is not writable.
    expect(injected.result).toMatchObject({
      outcome: 'success',
      stdout: backend === 'docker' ? 'refused 13\n' : 'refused 9\n',
    });
    for (const session of backend === 'docker' ? [id, second] : [second]) {
      expect((await call(service().url, 'DELETE', `/v1/sessions/${session}`)).status).toBe(200);
    }
  }, 120_000);

  it('keeps the kernel through the signals a cell sends it; SIGKILL ends it only where pid 1 is not shielded', async () => {
    const id = await open(backend);
    const signals = await cell(
      id,
      'import os, signal, time\n' +
        'for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGQUIT, signal.SIGTSTP, signal.SIGALRM):\n' +
        '    os.kill(1, s)\ntime.sleep(0.5)\n"alive"',
    );
    expect(signals.result).toMatchObject({ outcome: 'success', value: { 'text/plain': "'alive'" } });
    const interrupted = await cell(id, 'import os, signal, time\nos.kill(1, signal.SIGINT)\ntime.sleep(30)');
    expect(interrupted.result).toMatchObject({ outcome: 'canceled', reason: 'the cell was interrupted' });
    const killed = await cell(
      id,
      'import os, signal, time\nos.kill(1, signal.SIGKILL)\ntime.sleep(0.5)\n"after"',
    );
    if (backend === 'docker') {
      // runc: the kernel ignores SIGKILL from inside its pid namespace, as an init does.
      expect(killed.result).toMatchObject({ outcome: 'success', value: { 'text/plain': "'after'" } });
      expect((await call(service().url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    } else {
      // gVisor (this runsc) delivers it: the cell ends its own session, and the host says the interpreter exited.
      expect(killed.result).toMatchObject({
        outcome: 'error',
        exit_code: 137,
        stdout: '',
        reason: 'the interpreter exited during the cell (container exit code 137)',
      });
      const session = await call(service().url, 'GET', `/v1/sessions/${id}`);
      expect(session.body).toMatchObject({ status: 'closed', closed_reason: 'interpreter_exited' });
    }
  }, 120_000);

  it('caps stdout and stderr together at output_bytes, stops the cell, and keeps the session', async () => {
    const id = await open(backend);
    const flood = await cell(id, 'print("o" * 599)\nwhile True:\n    print("x" * 1000)', {
      output_bytes: 1000,
    });
    expect(flood.result).toMatchObject({
      outcome: 'output_limit',
      exit_code: null,
      stdout: `${'o'.repeat(599)}\n${'x'.repeat(400)}`,
      stderr: '',
      truncated: { stdout: true, stderr: false },
      reason: 'output exceeded the limit of 1000 bytes',
    });
    // The kernel reads the two pipes as they come: which of them reached the cap first is not fixed.
    const both = await cell(id, 'import os\nos.write(1, b"o" * 600)\nos.write(2, b"e" * 600)\npass', {
      output_bytes: 1000,
    });
    expect(both.result.outcome).toBe('output_limit');
    const { stdout, stderr, truncated } = both.result;
    expect(stdout.length + stderr.length).toBe(1000);
    expect(stdout).toBe('o'.repeat(stdout.length));
    expect(stderr).toBe('e'.repeat(stderr.length));
    expect(truncated).toEqual(
      stdout.length === 600 ? { stdout: false, stderr: true } : { stdout: true, stderr: false },
    );
    expect((await cell(id, '"still here"')).result.value).toEqual({ 'text/plain': "'still here'" });
    expect((await call(service().url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);
  }, 120_000);

  it("takes a cell's CPU time from the container's cgroup", async () => {
    const id = await open(backend);
    const [container] = containersLabelled(`airlock.session=${id}`).map((line) => line.split(' ')[0]);
    // What the cgroup counted across the whole call (ns), which holds what the host counted across the cell.
    const usage = async () =>
      Number(await readFile(`/sys/fs/cgroup/cpuacct/docker/${container}/cpuacct.usage`, 'utf8'));
    const before = await usage();
    const busy = await cell(
      id,
      'import time\nt0 = time.process_time()\nwhile time.process_time() - t0 < 0.3:\n    pass\n' +
        'int((time.process_time() - t0) * 1000)',
      { wall_time_ms: 30_000 },
    );
    const counted = ((await usage()) - before) / 1e6;
    expect(busy.result.outcome).toBe('success');
    expect(busy.result.usage.cpu_ms).toBeGreaterThan(0);
    expect(busy.result.usage.cpu_ms).toBeLessThanOrEqual(counted);
    if (backend === 'docker') {
      // runc: the cgroup counts at least what the interpreter itself used. gVisor's own clock is sampled, so
      // the cell's idea of its CPU time is no bound there.
      expect(busy.result.usage.cpu_ms).toBeGreaterThanOrEqual(Number(busy.result.value['text/plain']));
    }
    expect((await call(service().url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);
  }, 120_000);
});
