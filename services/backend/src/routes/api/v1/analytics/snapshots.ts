import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BatchSnapshotsBodySchema, BatchSnapshotsResponseSchema } from '@viewer-analytics/shared';
import { assertSnapshotInvariants } from '../../../../plugins/app/snapshot-ingest.js';
import { SECURITY } from '../../../../plugins/external/swagger.js';
import { BODY_ERRORS, errorResponses, SERVER_ERRORS } from '../../../../schemas/error-responses.js';

/** What the socket server sends every flush: up to 5,000 snapshots of any auctions in one request. */
const snapshots: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/snapshots',
    {
      onRequest: fastify.requireInternalKey,
      config: { snapshotIngest: true },
      schema: {
        tags: ['ingest'],
        summary: 'Store a batch of viewer snapshots (socket server only); one invalid item refuses the batch',
        security: [{ [SECURITY.internalKey]: [] }],
        body: BatchSnapshotsBodySchema,
        response: { 200: BatchSnapshotsResponseSchema, ...errorResponses(...BODY_ERRORS, 401, ...SERVER_ERRORS) },
      },
    },
    async (request) => {
      const { snapshots: batch } = request.body;
      const now = Date.now();
      batch.forEach((snapshot, index) => {
        assertSnapshotInvariants(snapshot, now, `body/snapshots/${index}`);
      });
      const outcome = await fastify.snapshotIngest.ingest(batch);
      request.log.info({ received: batch.length, ...outcome }, 'viewer snapshot batch processed');
      return { success: true as const, data: outcome };
    },
  );
};

export default snapshots;
