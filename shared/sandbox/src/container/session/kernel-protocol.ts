// The wire between the host and the python session kernel (sandbox-images/python/kernel.py, pid 1 of a session
// container; sandbox-images/CONTRACT.md, "Sessions"): the first line of the kernel's stdin is the session key (64
// hex digits, written before any cell exists), then frames `<length> <hex HMAC-SHA256>\n<json>` both ways, the
// MAC over a direction tag and the body. Cell code runs in another process that never holds the key; under gVisor
// it can still open the kernel's stdout (/proc/1/fd/1), so the MAC, not the channel, says a frame is the
// kernel's. It must never buffer more than the frame bound, nor pass on a frame whose MAC does not verify or whose
// shape is not exactly one of the kernel's.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CellException, MimeBundle } from '@airlock/protocol';
import { z } from 'zod';
import type { CellJob } from '../../sandbox.ts';

export const KERNEL_PROTOCOL = 3;
const TO_HOST = Buffer.from('kernel>host\n');
const FROM_HOST = Buffer.from('host>kernel\n');
const HEADER = /^(\d{1,12}) ([0-9a-f]{64})$/;
const MAX_HEADER_BYTES = 80;

export const KernelReady = z
  .object({ type: z.literal('ready'), protocol: z.literal(KERNEL_PROTOCOL), python: z.string() })
  .strict();

/** One cell's result as the kernel counted it: stdout/stderr are base64 of the raw bytes the cell wrote. */
export const KernelResult = z
  .object({
    type: z.literal('result'),
    id: z.string(),
    status: z.enum(['ok', 'error', 'interrupted', 'output_limit']),
    exit_code: z.number().int().nullable(),
    stdout: z.base64(),
    stderr: z.base64(),
    truncated: z.object({ stdout: z.boolean(), stderr: z.boolean() }).strict(),
    display: z.array(MimeBundle),
    value: MimeBundle.nullable(),
    exception: CellException.strict().nullable(),
    /** Whether /work/out is a folder after the cell: only then may it have output files to collect. */
    out: z.boolean(),
  })
  .strict();

/** The kernel saw the protocol broken (by the cell, or on its stdin); it serves nothing more. */
export const KernelViolation = z
  .object({ type: z.literal('violation'), id: z.string().nullable(), detail: z.string() })
  .strict();

export const KernelFrame = z.discriminatedUnion('type', [KernelReady, KernelResult, KernelViolation]);

export type KernelReady = z.infer<typeof KernelReady>;
export type KernelResult = z.infer<typeof KernelResult>;
export type KernelFrame = z.infer<typeof KernelFrame>;

/** A fresh session key. */
export function newSessionKey(): Buffer {
  return randomBytes(32);
}

/** The first line of the kernel's stdin. */
export function keyLine(key: Buffer): Buffer {
  return Buffer.from(`${key.toString('hex')}\n`, 'latin1');
}

function mac(key: Buffer, direction: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(direction).update(body).digest();
}

/** A new key for the kernel, sent under its current one between cells (a session from a ready-made image). */
export function encodeRekey(key: Buffer, next: Buffer): Buffer {
  return hostFrame(key, Buffer.from(JSON.stringify({ type: 'rekey', key: next.toString('hex') }), 'utf8'));
}

function hostFrame(key: Buffer, body: Buffer): Buffer {
  const header = `${body.length} ${mac(key, FROM_HOST, body).toString('hex')}\n`;
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
}

/** The cell as one host frame: its execution id, its turn in the session, its code and files (base64). */
export function encodeCell(key: Buffer, cell: CellJob, seq: number): Buffer {
  const body = Buffer.from(
    JSON.stringify({
      type: 'cell',
      id: cell.executionId,
      seq,
      code: cell.code,
      stdin: cell.stdin,
      output_bytes: cell.limits.output_bytes,
      files: cell.files.map((f) => ({ path: f.path, content: Buffer.from(f.content).toString('base64') })),
    }),
    'utf8',
  );
  return hostFrame(key, body);
}

/** A frame as the kernel writes it (tests use it to show what the host does with one). */
export function encodeKernelFrame(key: Buffer, frame: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(frame), 'utf8');
  const header = `${body.length} ${mac(key, TO_HOST, body).toString('hex')}\n`;
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
}

export class KernelProtocolError extends Error {
  override name = 'KernelProtocolError';
}

/** Splits the kernel's stdout into verified frames; throws KernelProtocolError on anything else. */
export class KernelFrameReader {
  #key: Buffer;
  readonly #onFrame: (frame: KernelFrame) => void;
  #maxFrameBytes: number;
  #buffer: Buffer = Buffer.alloc(0);
  #expected: { length: number; tag: Buffer } | null = null;
  #failed = false;

  constructor(key: Buffer, maxFrameBytes: number, onFrame: (frame: KernelFrame) => void) {
    this.#key = key;
    this.#maxFrameBytes = maxFrameBytes;
    this.#onFrame = onFrame;
  }

  /** Frames from here on are under this key (sent to the kernel by encodeRekey; none is due meanwhile). */
  rekey(key: Buffer): void {
    this.#key = key;
  }

  /** Sets the bound for the next frames (each cell has its own output cap). */
  allow(maxFrameBytes: number): void {
    this.#maxFrameBytes = maxFrameBytes;
  }

  push(chunk: Buffer): void {
    if (this.#failed) return;
    try {
      this.#push(chunk);
    } catch (error) {
      this.#failed = true;
      this.#buffer = Buffer.alloc(0);
      throw error;
    }
  }

  #push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#expected === null) {
        const newline = this.#buffer.subarray(0, MAX_HEADER_BYTES + 1).indexOf(0x0a);
        if (newline < 0) {
          if (this.#buffer.length > MAX_HEADER_BYTES)
            throw new KernelProtocolError('a malformed frame header');
          return;
        }
        const header = HEADER.exec(this.#buffer.subarray(0, newline).toString('latin1'));
        if (!header) throw new KernelProtocolError('a malformed frame header');
        const length = Number(header[1]);
        if (length > this.#maxFrameBytes) {
          throw new KernelProtocolError(
            `a frame of ${length} bytes (at most ${this.#maxFrameBytes} allowed)`,
          );
        }
        this.#expected = { length, tag: Buffer.from(header[2] ?? '', 'hex') };
        this.#buffer = this.#buffer.subarray(newline + 1);
      }
      if (this.#buffer.length < this.#expected.length) return;
      const body = this.#buffer.subarray(0, this.#expected.length);
      const { tag } = this.#expected;
      this.#buffer = this.#buffer.subarray(body.length);
      this.#expected = null;
      if (!timingSafeEqual(tag, mac(this.#key, TO_HOST, body))) {
        throw new KernelProtocolError('a frame that is not the kernel’s (its MAC does not verify)');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new KernelProtocolError('a frame that is not JSON');
      }
      const frame = KernelFrame.safeParse(parsed);
      if (!frame.success) throw new KernelProtocolError('a frame of the wrong shape');
      this.#onFrame(frame.data);
    }
  }
}
