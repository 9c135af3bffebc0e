// /v1/snapshots: the caller's session snapshots, listed, read and deleted. Taking one is
// POST /v1/sessions/:id/snapshots; a session starts from one with `from_snapshot`.

import { Snapshot, SnapshotList } from '@airlock/protocol';
import type { SessionsApi } from '@airlock/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '../openapi-schemas.ts';

export interface SnapshotRoutesOptions {
  snapshots: SessionsApi['snapshots'];
}

const SnapshotIdParams = z.object({ id: z.string() });

export const snapshotRoutes: FastifyPluginAsyncZod<SnapshotRoutesOptions> = async (app, options) => {
  const { snapshots } = options;

  app.get(
    '/v1/snapshots',
    {
      schema: {
        operationId: 'listSnapshots',
        summary: "List the caller's snapshots",
        errorCodes: ['forbidden', 'snapshot_unsupported'],
        response: { 200: SnapshotList, '4xx': ErrorResponse },
      },
    },
    async (request) => snapshots.list(request.headers),
  );

  for (const [method, operationId, summary, description, answer] of [
    [
      'GET',
      'getSnapshot',
      'Read a snapshot',
      'A snapshot past its `expires_at` is 404, like one that never was.',
      snapshots.get.bind(snapshots),
    ],
    [
      'DELETE',
      'deleteSnapshot',
      'Delete a snapshot',
      'Removes its image and answers 200 with the snapshot as it was; sessions started from it go on.',
      snapshots.remove.bind(snapshots),
    ],
  ] as const) {
    app.route({
      method,
      url: '/v1/snapshots/:id',
      schema: {
        operationId,
        summary,
        errorCodes: ['forbidden', 'not_found', 'snapshot_unsupported'],
        ...(description === undefined ? {} : { description }),
        params: SnapshotIdParams,
        response: { 200: Snapshot, '4xx': ErrorResponse },
      },
      handler: async (request) => answer(request.headers, request.params.id),
    });
  }
};
