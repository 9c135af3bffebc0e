// Command line for checking an audit log: `npm run audit:verify -- FILE`, and for repairing a torn last line
// left by a crash: `npm run audit:verify -- --repair FILE` (cuts it, appends a `repaired` record, verifies).
// Exit 0: chain intact (after the repair, if one was made). Exit 1: the first bad record is printed (and for
// --repair, why it cannot be repaired). Exit 2: usage error or the file cannot be read.
// Must never modify the file without --repair, and never do anything when imported (it runs only as the main
// module).

import { AuditRepairRefused, repairTornTail } from './repair.ts';
import { verifyAuditLog } from './verify.ts';

const USAGE =
  'usage: npm run audit:verify -- [--repair] FILE   (or: node shared/audit/src/verify-cli.ts [--repair] FILE)';

/** Where the CLI writes; process.stdout/stderr when run as a program. */
export interface CliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Runs the verifier on `args` (the arguments after the script name) and returns the exit code. */
export async function runVerifyCli(args: readonly string[], output: CliOutput): Promise<number> {
  const repair = args[0] === '--repair';
  const [file, ...rest] = repair ? args.slice(1) : args;
  if (file === undefined || rest.length > 0 || file === '' || file.startsWith('-')) {
    output.err(`${USAGE}\n`);
    return 2;
  }
  if (repair) {
    const code = await runRepair(file, output);
    if (code !== 0) return code;
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

async function runRepair(file: string, output: CliOutput): Promise<number> {
  try {
    const outcome = await repairTornTail(file);
    if (!outcome.repaired) {
      output.out('nothing to repair: the log ends with a complete record\n');
      return 0;
    }
    output.out(
      `REPAIRED: cut ${outcome.cut_bytes} bytes of a torn last line (line ${outcome.line}, sha256 ` +
        `${outcome.cut_sha256}); appended record seq ${outcome.record.seq} (type repaired)\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof AuditRepairRefused) {
      output.out(`${error.message}\n`);
      return 1;
    }
    output.err(`cannot repair ${file}: ${(error as Error).message}\n`);
    return 2;
  }
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
