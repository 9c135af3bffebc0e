// Command line for checking an audit log: `npm run audit:verify -- FILE`.
// Exit 0: chain intact. Exit 1: the first bad record is printed. Exit 2: usage error or the file cannot be read.
// Must never modify the file, and never do anything when imported (it runs only as the main module).

import { verifyAuditLog } from './verify.ts';

const USAGE = 'usage: npm run audit:verify -- FILE   (or: node shared/audit/src/verify-cli.ts FILE)';

/** Where the CLI writes; process.stdout/stderr when run as a program. */
export interface CliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Runs the verifier on `args` (the arguments after the script name) and returns the exit code. */
export async function runVerifyCli(args: readonly string[], output: CliOutput): Promise<number> {
  const [file, ...rest] = args;
  if (file === undefined || rest.length > 0 || file === '' || file.startsWith('-')) {
    output.err(`${USAGE}\n`);
    return 2;
  }
  let report: Awaited<ReturnType<typeof verifyAuditLog>>;
  try {
    report = await verifyAuditLog(file);
  } catch (error) {
    output.err(`cannot read ${file}: ${(error as Error).message}\n`);
    return 2;
  }
  if (report.ok) {
    output.out(`OK: ${report.records} records, chain intact, last hash ${report.last_hash}\n`);
    return 0;
  }
  output.out(`FAILED at line ${report.line} (seq ${report.seq ?? 'unknown'}): ${report.problem}\n`);
  return 1;
}

// No top-level await: it would make this module (and anything importing it) impossible to require().
if (import.meta.main) {
  void runVerifyCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  }).then((code) => {
    process.exitCode = code;
  });
}
