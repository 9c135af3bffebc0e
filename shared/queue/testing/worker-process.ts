// A worker in a process of its own, for the kill -9 test: joins the queue named on its command line and
// runs every job by printing `started <id>` and then never finishing, so the test can kill it mid-job.
// Test fixture only: never imported by the queue.

import { connect } from '@nats-io/transport-node';
import { JetStreamJobQueue } from '../src/jetstream/jetstream-job-queue.ts';

const [url, names, ackWaitMs] = process.argv.slice(2);
const connection = await connect({ servers: url! });
const queue = await JetStreamJobQueue.open({
  connection,
  names: JSON.parse(names!),
  ackWaitMs: Number(ackWaitMs),
  heartbeatMs: 200,
  pollIntervalMs: 100,
  statsIntervalMs: 0,
});
queue.consume((job) => {
  process.stdout.write(`started ${job.execution.id}\n`);
  return new Promise(() => {});
});
process.stdout.write('ready\n');
