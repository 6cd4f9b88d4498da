import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AuctionParamsSchema,
  ErrorCode,
  SnapshotNotStoredResponseSchema,
  SnapshotRejection,
  SnapshotSchema,
  SnapshotStoredResponseSchema,
} from '@viewer-analytics/shared';
import { auctionNotFound, errorBody, HttpError } from '../../../../../http-error.js';
import { SECURITY } from '../../../../../plugins/external/swagger.js';
import { BODY_ERRORS, errorResponses, SERVER_ERRORS } from '../../../../../schemas/error-responses.js';

/** The spec's one-snapshot-per-request contract, kept for compatibility; the socket server batches. */
const snapshot: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/:id/analytics/snapshot',
    {
      onRequest: fastify.requireInternalKey,
      config: { snapshotIngest: true },
      schema: {
        tags: ['ingest'],
        summary: 'Store one viewer snapshot of an auction (socket server only)',
        security: [{ [SECURITY.internalKey]: [] }],
        params: AuctionParamsSchema,
        body: SnapshotSchema,
        response: {
          201: SnapshotStoredResponseSchema,
          200: SnapshotNotStoredResponseSchema,
          ...errorResponses(...BODY_ERRORS, 401, 404, 429, ...SERVER_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const auctionId = request.params.id;
      const { timestamp } = request.body;
      const violation = fastify.snapshotIngest.violation(request.body, Date.now());
      if (violation !== undefined) {
        // The same 400 as a schema error, but a window ahead of our clock says so: the sender may retry it later.
        const code = violation.code === SnapshotRejection.inFuture ? ErrorCode.snapshotInFuture : ErrorCode.validation;
        throw new HttpError(400, code, `body/${violation.field}: ${violation.message}`);
      }
      const outcome = await fastify.snapshotIngest.store([{ auctionId, ...request.body }]);

      if (outcome.stored === 1) {
        request.log.info({ auctionId, timestamp }, 'viewer snapshot saved');
        return reply.code(201).send({ success: true, data: { stored: true } });
      }
      if (outcome.unknown === 1) {
        // An outcome like the others (final, counted as skipped), not a failure: replied here.
        request.log.info({ auctionId, timestamp, reason: 'unknown_auction' }, 'viewer snapshot not stored');
        const { code, message } = auctionNotFound(auctionId);
        return reply.code(404).send(errorBody(code, message));
      }
      const reason = outcome.duplicates === 1 ? ('duplicate' as const) : ('analytics_disabled' as const);
      request.log.info({ auctionId, timestamp, reason }, 'viewer snapshot not stored');
      return reply.code(200).send({ success: true, data: { stored: false, reason } });
    },
  );
};

export default snapshot;
