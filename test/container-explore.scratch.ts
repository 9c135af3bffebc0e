import { readFileSync } from 'node:fs';
import { run, startService } from './support/service.ts';
process.env.AIRLOCK_TEST_CANARY = 'canary-' + 'x'.repeat(8);
const svc = await startService({ AIRLOCK_BACKENDS: 'isolate,docker,gvisor', AIRLOCK_POOL_SIZE: '1' });
delete process.env.AIRLOCK_TEST_CANARY;
try {
  const files = process.argv.slice(2);
  for (const backend of ['docker', 'gvisor']) {
    const results = await Promise.all(files.map((f) => {
      const language = f.endsWith('.py') ? 'python' : f.endsWith('.sh') ? 'bash' : 'javascript';
      return run(svc.url, { backend, language, code: readFileSync(f, 'utf8'), limits: { wall_time_ms: 10000 } }, 60).catch((e) => String(e));
    }));
    for (const r of results) { const x = r.result ?? r; console.log('=====', backend, x.outcome, x.exit_code, x.signal, x.reason, JSON.stringify(x.usage), JSON.stringify(x.truncated)); console.log(x.stdout?.slice(0, 3000)); console.log('--stderr:', x.stderr?.slice(0, 1500)); if (x.files?.length) console.log('files', JSON.stringify(x.files).slice(0, 500)); }
  }
} finally {
  await svc.close();
}
