// The keys of a KV bucket as its stream holds them at one moment, read in one request (the stream's subjects),
// not with kv.keys(): that runs a consumer which also delivers the writes made while it runs, so a key written
// during a listing came back twice, and under steady writes (heartbeats, session records) a listing could go on
// until the writes stopped. A deleted or purged key may still be listed (its marker is a message): callers read
// each entry and skip what is not a PUT. A bucket whose stream does not exist has no keys.

import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

const STREAM_NOT_FOUND = 10059;

/** Every key of KV bucket `bucket`, each once; [] when the bucket does not exist. */
export async function bucketKeys(jsm: JetStreamManager, bucket: string): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  try {
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}>` });
    return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND) return [];
    throw error;
  }
}
