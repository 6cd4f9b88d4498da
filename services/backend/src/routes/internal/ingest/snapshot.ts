import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AuctionParamsSchema,
  SnapshotNotStoredResponseSchema,
  SnapshotRejection,
  SnapshotSchema,
  SnapshotStoredResponseSchema,
} from '@viewer-analytics/shared';
import { AuctionNotFoundError, errorBody, SnapshotInFutureError, ValidationError } from '../../../http-error.js';
import { BODY_ERRORS, errorResponses } from '../../../schemas/error-responses.js';

/** The spec's one-snapshot-per-request contract, kept for compatibility; the socket server batches. */
const snapshot: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/auctions/:id/analytics/snapshot',
    {
      schema: {
        summary: 'Store one viewer snapshot of an auction (socket server only)',
        params: AuctionParamsSchema,
        body: SnapshotSchema,
        response: {
          201: SnapshotStoredResponseSchema,
          200: SnapshotNotStoredResponseSchema,
          ...errorResponses(...BODY_ERRORS, 404),
        },
      },
    },
    async (request, reply) => {
      const auctionId = request.params.id;
      const { timestamp } = request.body;
      const violation = fastify.snapshotIngest.violation(request.body, Date.now());
      if (violation !== undefined) {
        // The same 400 as a schema error, but a window ahead of our clock says so: the sender may retry it later.
        const Rejection = violation.code === SnapshotRejection.inFuture ? SnapshotInFutureError : ValidationError;
        throw new Rejection(`body/${violation.field}`, violation.message);
      }
      // Stored in one bulk write with the single snapshots that arrive meanwhile (group commit).
      const outcome = await fastify.snapshotIngest.storeOne({ auctionId, ...request.body });

      if (outcome === 'stored') {
        request.log.info({ auctionId, timestamp }, 'viewer snapshot saved');
        return reply.code(201).send({ success: true, data: { stored: true } });
      }
      if (outcome === 'unknown_auction') {
        // An outcome like the others (final, counted as skipped), not a refused request: replied
        // here rather than thrown, so the ingest's rejection count leaves it out.
        request.log.info({ auctionId, timestamp, reason: outcome }, 'viewer snapshot not stored');
        const { code, message } = new AuctionNotFoundError(auctionId);
        return reply.code(404).send(errorBody(code, message));
      }
      request.log.info({ auctionId, timestamp, reason: outcome }, 'viewer snapshot not stored');
      return reply.code(200).send({ success: true, data: { stored: false, reason: outcome } });
    },
  );
};

export default snapshot;
