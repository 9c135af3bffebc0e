// The wire between the gateway and the python session kernel (sandbox-images/python/kernel.py): one JSON line per
// cell on the kernel's stdin; one frame per answer on its stdout, `<decimal length>\n<json>`. The kernel runs in
// the same interpreter as the guest's code, so every frame is untrusted: parsed with a bounded buffer and a
// strict schema. It must never buffer more than `maxFrameBytes`, nor accept a frame that does not parse.

import { CellException, MimeBundle } from '@airlock/protocol';
import { z } from 'zod';
import type { SessionCell } from '../sandbox.ts';

export const KernelReady = z.object({ type: z.literal('ready'), protocol: z.literal(1), python: z.string() });

export const KernelResult = z.object({
  type: z.literal('result'),
  id: z.string().nullable(),
  status: z.enum(['ok', 'error', 'interrupted', 'output_limit']),
  exit_code: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.object({ stdout: z.boolean(), stderr: z.boolean() }),
  display: z.array(MimeBundle),
  value: MimeBundle.nullable(),
  exception: CellException.nullable(),
  cpu_ms: z.number().nonnegative(),
});

export const KernelFrame = z.discriminatedUnion('type', [
  KernelReady,
  KernelResult,
  z.object({ type: z.literal('refused'), reason: z.string() }),
]);

export type KernelReady = z.infer<typeof KernelReady>;
export type KernelResult = z.infer<typeof KernelResult>;
export type KernelFrame = z.infer<typeof KernelFrame>;

/** The cell as one line of JSON for the kernel's stdin (file contents base64). */
export function encodeCell(cell: SessionCell): Buffer {
  const line = JSON.stringify({
    id: cell.executionId,
    code: cell.code,
    stdin: cell.stdin,
    output_bytes: cell.limits.output_bytes,
    files: cell.files.map((f) => ({ path: f.path, content: Buffer.from(f.content).toString('base64') })),
  });
  return Buffer.from(`${line}\n`, 'utf8');
}

export class KernelProtocolError extends Error {
  override name = 'KernelProtocolError';
}

/** Splits the kernel's stdout into frames; throws KernelProtocolError on anything else. */
export class KernelFrameReader {
  #maxFrameBytes: number;
  readonly #onFrame: (frame: KernelFrame) => void;
  #buffer: Buffer = Buffer.alloc(0);
  #expected: number | null = null;

  constructor(maxFrameBytes: number, onFrame: (frame: KernelFrame) => void) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#onFrame = onFrame;
  }

  /** Sets the bound for the next frames (each cell has its own output cap). */
  allow(maxFrameBytes: number): void {
    this.#maxFrameBytes = maxFrameBytes;
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const limit = this.#maxFrameBytes;
    for (;;) {
      if (this.#expected === null) {
        const newline = this.#buffer.indexOf(0x0a);
        if (newline < 0) {
          if (this.#buffer.length > 20)
            throw new KernelProtocolError('the kernel sent a malformed frame header');
          return;
        }
        const header = this.#buffer.subarray(0, newline).toString('latin1');
        if (!/^\d{1,12}$/.test(header))
          throw new KernelProtocolError('the kernel sent a malformed frame header');
        const length = Number(header);
        if (length > limit) {
          throw new KernelProtocolError(
            `the kernel sent a frame of ${length} bytes (at most ${limit} allowed)`,
          );
        }
        this.#expected = length;
        this.#buffer = this.#buffer.subarray(newline + 1);
      }
      if (this.#buffer.length < this.#expected) return;
      const body = this.#buffer.subarray(0, this.#expected);
      this.#buffer = this.#buffer.subarray(this.#expected);
      this.#expected = null;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new KernelProtocolError('the kernel sent a frame that is not JSON');
      }
      const frame = KernelFrame.safeParse(parsed);
      if (!frame.success) throw new KernelProtocolError('the kernel sent a frame of the wrong shape');
      this.#onFrame(frame.data);
    }
  }
}
