import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';

const HealthSchema = Type.Object({ status: Type.Literal('ok') });

/** Liveness: the process answers. Readiness (the database) is `/ready`. */
const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/health',
    { schema: { summary: 'Liveness', response: { 200: HealthSchema } } },
    () => ({ status: 'ok' as const }),
  );
};

export default health;
