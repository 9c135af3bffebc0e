// Which language a program file is written in, from its extension, for `airlock run FILE` without --lang.

import { extname } from 'node:path';
import type { Language } from '@airlock/protocol';

export const EXTENSION_LANGUAGES: Readonly<Record<string, Language>> = {
  '.py': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.sh': 'bash',
  '.bash': 'bash',
};

/** The language of `file` by its extension, or undefined when the extension says nothing. */
export function languageOfFile(file: string): Language | undefined {
  return EXTENSION_LANGUAGES[extname(file).toLowerCase()];
}
