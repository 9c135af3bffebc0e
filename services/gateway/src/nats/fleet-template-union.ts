// The templates of a fleet of workers, from their heartbeats: one entry per template name any live worker
// announces. A template is `ready` when some live worker has it ready (its details are the first such
// worker's, in roster order, and `workers` lists every live worker that has it ready); otherwise it carries the
// state and reason of one worker that has it, the most hopeful first (building, then missing, then failed),
// with no workers. A worker whose heartbeat is older than the TTL it announced counts for nothing, and an
// announced template that is not a Template (a name no spec could have) is left out.

import { Template, type TemplateState, type Worker } from '@airlock/protocol';

/** Which non-ready state to show when no live worker has the template ready: the one that may end soonest. */
const HOPE: Readonly<Record<TemplateState, number>> = { ready: 0, building: 1, missing: 2, failed: 3 };

/** The live workers of `workers` at `now`: those whose last heartbeat is within their TTL. */
export function liveWorkers(workers: readonly Worker[], now: Date): Worker[] {
  return workers.filter((worker) => now.getTime() - Date.parse(worker.last_seen) <= worker.ttl_ms);
}

/** The union of the live workers' templates, sorted by name. */
export function fleetTemplates(workers: readonly Worker[], now: Date): Template[] {
  const byName = new Map<string, { template: Template; workers: string[] }>();
  for (const worker of liveWorkers(workers, now)) {
    for (const announced of worker.templates) {
      const checked = Template.safeParse(announced);
      if (!checked.success) continue;
      const template = checked.data;
      const seen = byName.get(template.name);
      const ready = template.state === 'ready';
      if (seen === undefined) {
        byName.set(template.name, { template, workers: ready ? [worker.id] : [] });
      } else if (ready) {
        if (seen.workers.length === 0) seen.template = template;
        seen.workers.push(worker.id);
      } else if (seen.workers.length === 0 && HOPE[template.state] < HOPE[seen.template.state]) {
        seen.template = template;
      }
    }
  }
  return [...byName.keys()].sort().map((name) => {
    const { template, workers: serving } = byName.get(name) as { template: Template; workers: string[] };
    return { ...template, workers: serving };
  });
}
