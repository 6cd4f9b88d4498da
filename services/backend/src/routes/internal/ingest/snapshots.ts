import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BatchSnapshotsBodySchema, BatchSnapshotsResponseSchema } from '@viewer-analytics/shared';
import { BODY_ERRORS, errorResponses } from '../../../schemas/error-responses.js';

/** What the socket server sends every flush: up to 5,000 snapshots of any auctions in one request. */
const snapshots: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/analytics/snapshots',
    {
      schema: {
        summary: 'Store a batch of viewer snapshots (socket server only)',
        description:
          'The body must be an object with `snapshots`, 1 to 5,000 items (else 400). Each item is checked on its own: ' +
          'the valid ones are stored and the invalid ones reported in `invalid` by index, with code SNAPSHOT_IN_FUTURE ' +
          '(window more than 5 minutes ahead of the backend clock: may be sent again later) or INVALID_SNAPSHOT (final).',
        body: BatchSnapshotsBodySchema,
        response: { 200: BatchSnapshotsResponseSchema, ...errorResponses(...BODY_ERRORS) },
      },
    },
    async (request) => {
      const { snapshots: batch } = request.body;
      const outcome = await fastify.snapshotIngest.ingest(batch);
      const { invalid, ...counts } = outcome;
      if (invalid.length === 0) request.log.info({ received: batch.length, ...counts, invalid: 0 }, 'viewer snapshot batch processed');
      else {
        const [first] = invalid;
        request.log.warn({ received: batch.length, ...counts, invalid: invalid.length, first }, 'viewer snapshot batch processed; some items refused');
      }
      return { success: true as const, data: outcome };
    },
  );
};

export default snapshots;
