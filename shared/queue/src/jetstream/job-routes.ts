// Which job consumers a worker takes jobs from. A job that needs a template (a request's `template`, or a
// compiled language's default template) is published on its own subject per tenant and template, with its own
// consumer (names.ts); the rest go to the tenant's consumer as before. A worker runs the jobs of a template
// consumer only while that template is ready here, so in a fleet whose workers differ a job waits for one that
// can run it instead of failing on one that cannot. It still looks at the other template consumers, but only
// for jobs another worker holds (job-consumer.ts): that is how a run lost with its worker is settled when no
// worker with the template is left; a queued job found that way is released unrun at once (job-runner.ts).
// Must never say a worker runs a template it does not have ready.

import { parseJobConsumer } from './names.ts';

/** Whether this worker has the template ready now. @default every template (a fleet of equal workers) */
export type RunsTemplate = (template: string) => boolean;

export class JobRoutes {
  readonly #runsTemplate: RunsTemplate;

  constructor(runsTemplate: RunsTemplate = () => true) {
    this.#runsTemplate = runsTemplate;
  }

  /** Whether this worker runs the jobs of the consumer now: any tenant consumer, a template's when it is ready. */
  runs(consumer: string): boolean {
    const parsed = parseJobConsumer(consumer);
    if (parsed === undefined) return false;
    return parsed.template === undefined || this.#runsTemplate(parsed.template);
  }

  /** The tenant a job consumer serves (its token): the rotation gives each tenant one turn, whatever it routes. */
  tenantOf(consumer: string): string {
    return parseJobConsumer(consumer)?.tenant ?? consumer;
  }
}
