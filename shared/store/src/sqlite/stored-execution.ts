// An execution as one row holds it: its JSON, with the large strings of its result (stdout, stderr, output
// files) moved into the blob table, so a large output is stored once however many records or replays refer to
// it. Must give back exactly the execution it was given.

import type { Execution, ExecutionResult, OutputFile } from '@airlock/protocol';
import type { BlobTable } from './blobs.ts';

/** Strings of at least this many UTF-16 units (so at least as many UTF-8 bytes) go to the blob table. */
export const BLOB_MIN_CHARS = 1024;

interface BlobRefs {
  stdout?: string;
  stderr?: string;
  /** Output file index → hash of its decoded bytes. */
  files?: Record<string, string>;
}

interface PackedForm {
  e: Execution;
  b?: BlobRefs;
}

export interface PackedExecution {
  json: string;
  /** Hashes of the blobs it refers to (one entry per reference). */
  blobs: string[];
  /** Its own bytes plus those of every blob it refers to, as if not shared. */
  bytes: number;
}

export function packExecution(execution: Execution, blobs: BlobTable): PackedExecution {
  const result = execution.result;
  if (!result) {
    const json = JSON.stringify({ e: execution } satisfies PackedForm);
    return { json, blobs: [], bytes: Buffer.byteLength(json) };
  }
  const refs: BlobRefs = {};
  const hashes: string[] = [];
  let blobBytes = 0;
  const keep = (bytes: Uint8Array): string => {
    const hash = blobs.put(bytes);
    hashes.push(hash);
    blobBytes += bytes.byteLength;
    return hash;
  };
  const stored: ExecutionResult = { ...result };
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = result[stream];
    // A lone surrogate would not survive UTF-8: such text stays in the JSON, which keeps it exactly.
    if (text.length >= BLOB_MIN_CHARS && text.isWellFormed()) {
      refs[stream] = keep(Buffer.from(text, 'utf8'));
      stored[stream] = '';
    }
  }
  if (result.files) {
    const fileRefs: Record<string, string> = {};
    stored.files = result.files.map((file, index): OutputFile => {
      if (file.content.length < BLOB_MIN_CHARS) return file;
      const bytes = Buffer.from(file.content, 'base64');
      // Only canonical base64 is stored decoded; anything else would not come back the same.
      if (bytes.toString('base64') !== file.content) return file;
      fileRefs[String(index)] = keep(bytes);
      return { ...file, content: '' };
    });
    if (Object.keys(fileRefs).length > 0) refs.files = fileRefs;
  }
  const form: PackedForm =
    hashes.length > 0 ? { e: { ...execution, result: stored }, b: refs } : { e: execution };
  const json = JSON.stringify(form);
  return { json, blobs: hashes, bytes: Buffer.byteLength(json) + blobBytes };
}

export function unpackExecution(json: string, blobs: BlobTable): Execution {
  const form = JSON.parse(json) as PackedForm;
  const refs = form.b;
  const execution = form.e;
  if (!refs || !execution.result) return execution;
  const result = execution.result;
  const text = (hash: string) => utf8(blobs.get(hash));
  if (refs.stdout) result.stdout = text(refs.stdout);
  if (refs.stderr) result.stderr = text(refs.stderr);
  if (refs.files && result.files) {
    for (const [index, hash] of Object.entries(refs.files)) {
      const file = result.files[Number(index)];
      if (file) file.content = base64(blobs.get(hash));
    }
  }
  return execution;
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
