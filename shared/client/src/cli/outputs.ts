// Saves what a finished execution returned as files: its output files (what the program wrote under out/) and,
// for a session cell, the PNG images of its display outputs and value. Everything goes under one local folder
// (the --out option); a path that would leave it is refused by writeOutputFiles.

import type { Execution, OutputFile } from '@airlock/protocol';
import { writeOutputFiles } from '../files.ts';

/** A cell's PNG images as output files named `<execution id>-<n>.png` (display outputs first, then the value). */
export function cellImages(execution: Execution): OutputFile[] {
  const result = execution.result;
  if (result === null) return [];
  const bundles = [...(result.display ?? []), ...(result.value ? [result.value] : [])];
  const images = bundles.flatMap((bundle) =>
    bundle['image/png'] === undefined ? [] : [bundle['image/png']],
  );
  return images.map((content, i) => ({
    path: `${execution.id}-${i + 1}.png`,
    size: Buffer.byteLength(content, 'base64'),
    encoding: 'base64',
    content,
  }));
}

/** Writes the execution's output files and cell images under `dir`; returns what was written (path, bytes). */
export async function saveOutputs(
  execution: Execution,
  dir: string,
): Promise<Array<{ path: string; size: number }>> {
  const files = [...(execution.result?.files ?? []), ...cellImages(execution)];
  if (files.length === 0) return [];
  const written = await writeOutputFiles(files, dir);
  return written.map((path, i) => ({ path, size: files[i]!.size }));
}
