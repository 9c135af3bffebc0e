// `airlock audit verify FILE`: recomputes an audit log's hash chain with @airlock/audit's verifier. Exit 0 when
// the chain is intact, 1 at the first bad record (printed), 2 when the file cannot be read. Never writes the file.

import { verifyAuditLog } from '@airlock/audit';
import { parse, usage } from './args.ts';
import { type CliContext, printJson } from './context.ts';

const AUDIT_USAGE = 'usage: airlock audit verify FILE [--json]';

export async function audit(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) {
    context.terminal.stdout(`${AUDIT_USAGE}\n`);
    return 0;
  }
  const [action, file, ...extra] = positionals;
  if (action !== 'verify')
    usage(action === undefined ? 'audit needs an action: verify' : `unknown action 'audit ${action}'`);
  if (file === undefined || file === '') usage('audit verify needs FILE');
  if (extra.length > 0) usage(`unexpected argument '${extra[0]}'`);
  let report: Awaited<ReturnType<typeof verifyAuditLog>>;
  try {
    report = await verifyAuditLog(file);
  } catch (error) {
    usage(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (values.json) printJson(context, report);
  else if (report.ok) {
    context.terminal.stdout(`OK: ${report.records} records, chain intact, last hash ${report.last_hash}\n`);
  } else {
    context.terminal.stdout(
      `FAILED at line ${report.line} (seq ${report.seq ?? 'unknown'}): ${report.problem}\n`,
    );
  }
  return report.ok ? 0 : 1;
}
