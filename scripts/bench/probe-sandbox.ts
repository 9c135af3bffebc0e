import { IsolateSandbox } from '@airlock/sandbox';
import { measure, row } from './stats.ts';
const sb = new IsolateSandbox({ hosts: 2 });
await sb.start();
const job = { executionId: 'x', language: 'javascript' as const, code: 'console.log("hello, world")', files: [], stdin: '', args: [], env: {}, limits: { wall_time_ms: 10000, cpu_time_ms: 10000, memory_mb: 128, output_bytes: 1 << 20 } };
const task = async () => { const r = await sb.run(job, { signal: new AbortController().signal }); if (r.stdout !== 'hello, world\n') throw new Error(JSON.stringify(r)); };
await measure(50, 1, task);
console.log(row('sandbox c=1', await measure(300, 1, task)));
await sb.close();
