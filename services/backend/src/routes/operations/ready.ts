import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { DatabaseUnavailableError, NotReadyError } from '../../http-error.js';
import { errorResponses } from '../../schemas/error-responses.js';

const ReadySchema = Type.Object({ status: Type.Literal('ready') });

/** A load balancer asks well within its own timeout, so the ping must not wait for server selection. */
const PING_TIMEOUT_MS = 2_000;

/** Readiness: the analytics settings and hour figures are loaded (a fresh process answers the ingest and long reads from memory) and MongoDB answers a ping; 503 with the error body when not. */
const ready: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: the analytics settings and hour figures are loaded and the database answers',
        response: { 200: ReadySchema, ...errorResponses(500, 503) },
      },
    },
    async () => {
      if (!fastify.auctions.warmedUp()) throw new NotReadyError('Loading the analytics settings from the database');
      if (!fastify.viewerHours.warmedUp()) throw new NotReadyError('Loading the hour marks and figures from the database');
      try {
        await fastify.mongo.client.db('admin').command({ ping: 1 }, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) });
      } catch (err) {
        throw new DatabaseUnavailableError('The database does not answer', { cause: err });
      }
      return { status: 'ready' as const };
    },
  );
};

export default ready;
