import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogOutput } from './log-output.ts';
import { createLogger } from './logger.ts';

let dir: string;
const fds: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-log-output-'));
});

afterEach(async () => {
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // already closed by the test (or by the stream that owned it)
    }
  }
  await rm(dir, { recursive: true, force: true });
});

function openFd(path: string, flags: number): number {
  const fd = openSync(path, flags);
  fds.push(fd);
  return fd;
}

/**
 * A real pipe (a FIFO): its reader's and its writer's descriptor. The test closes the reader; the writer
 * belongs to the LogOutput's stream, which closes it once the pipe fails.
 */
function fifo(): { reader: number; writer: number } {
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return { reader, writer };
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 10));

describe('LogOutput', () => {
  it('writes lines to a file in order and counts no errors', async () => {
    const path = join(dir, 'service.log');
    const output = new LogOutput({ fd: openFd(path, constants.O_WRONLY | constants.O_CREAT) });
    output.write('one\n');
    output.write('two\n');
    await output.flush(1_000);
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\n');
    expect(output.writeErrors).toBe(0);
  });

  it('drops and counts every line a full disk refuses (/dev/full), without throwing', () => {
    const output = new LogOutput({ fd: openFd('/dev/full', constants.O_WRONLY) });
    for (let i = 0; i < 5; i++) output.write(`line ${i}\n`);
    expect(output.writeErrors).toBe(5);
  });

  it('drops and counts lines for a closed descriptor', () => {
    const fd = openSync('/dev/null', constants.O_WRONLY);
    closeSync(fd);
    const output = new LogOutput({ fd });
    output.write('lost\n');
    expect(output.writeErrors).toBe(1);
  });

  it('drops and counts lines to a pipe whose reader is gone, and flushes at once', async () => {
    const { reader, writer } = fifo();
    closeSync(reader);
    const output = new LogOutput({ fd: writer });
    for (let i = 0; i < 3; i++) output.write(`line ${i}\n`);
    await expect.poll(() => output.writeErrors).toBe(3);
    output.write('after\n');
    expect(output.writeErrors).toBe(4);
    await output.flush(60_000);
  });

  it('holds back at most maxBacklogBytes for a reader that stops reading, and flush gives up at its timeout', async () => {
    const { reader, writer } = fifo();
    const output = new LogOutput({ fd: writer, maxBacklogBytes: 4096 });
    const line = `${'x'.repeat(1023)}\n`;
    // Far more than the pipe's buffer (64 KiB) plus the backlog: the rest is dropped, nothing blocks.
    for (let i = 0; i < 512; i++) {
      output.write(line);
      if (i % 64 === 0) await tick();
    }
    expect(output.writeErrors).toBeGreaterThan(0);
    expect(output.writeErrors).toBeLessThan(512);
    await output.flush(50);
    // The reader goes away: what was held back fails too, and is counted.
    const before = output.writeErrors;
    closeSync(reader);
    await expect.poll(() => output.writeErrors).toBeGreaterThan(before);
  });

  it('under pino, a full disk never reaches the caller', () => {
    const output = new LogOutput({ fd: openFd('/dev/full', constants.O_WRONLY) });
    const logger = createLogger({ level: 'info', destination: output });
    for (let i = 0; i < 3; i++) logger.info({ i }, 'still logging');
    logger.fatal('and fatal too');
    expect(output.writeErrors).toBe(4);
  });
});
