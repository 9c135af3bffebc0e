// What a session cell runs, as the run fields an execution request carries: its code, files, stdin and limits,
// with no arguments and no environment (a cell has none; the session's interpreter is already running).
// The gateway's audit of a cell and the session backends that run one both build these fields here.

/** The run fields of `cell`: its own code, files, stdin and limits; empty args and env. */
export function cellRunFields<C extends { code: string; files: unknown; stdin: string; limits: unknown }>(
  cell: C,
): Pick<C, 'code' | 'files' | 'stdin' | 'limits'> & { args: string[]; env: Record<string, string> } {
  return { code: cell.code, files: cell.files, stdin: cell.stdin, args: [], env: {}, limits: cell.limits };
}
