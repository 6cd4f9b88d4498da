import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/prometheus.js';

/** Prometheus scrape target; like /health it touches nothing that can fail. */
const metrics: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(fastify.metrics.render()),
  );
};

export default metrics;
