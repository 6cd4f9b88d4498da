import fastifyJwt from '@fastify/jwt';
import fp from 'fastify-plugin';
import type { BackendConfig } from '../../config.js';

/** Bearer tokens of the dashboard: HS256 only, so a token cannot pick a weaker or keyless algorithm. */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    await fastify.register(fastifyJwt, {
      secret: config.JWT_SECRET,
      sign: { algorithm: 'HS256' },
      verify: { algorithms: ['HS256'] },
    });
  },
  { name: 'jwt' },
);
