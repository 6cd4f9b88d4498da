import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorReplyFor } from '../../../plugins/app/error-handler.js';
import snapshot from './snapshot.js';
import snapshots from './snapshots.js';

/**
 * The snapshot ingest routes. A request refused as a whole (bad key, invalid body, too large…)
 * loses snapshots unless the socket server fixes something: each is counted by its error code and
 * logged as a warning. Server errors are not refusals: the error handler logs those.
 */
const ingest: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onError', async (request, _reply, error) => {
    const { statusCode, code, message } = errorReplyFor(error, request);
    if (statusCode >= 500) return;
    const reason = code.toLowerCase();
    fastify.metrics.snapshotRequestRejected(reason);
    request.log.warn({ reason, detail: message }, 'snapshot request rejected');
  });

  await fastify.register(snapshots);
  await fastify.register(snapshot);
};

export default ingest;
