import fastifyJwt from '@fastify/jwt';
import fp from 'fastify-plugin';
import { TOKEN_CLOCK_TOLERANCE_SECONDS } from '@viewer-analytics/shared';
import type { BackendConfig } from '../../config.js';

/**
 * Bearer tokens of the dashboard: HS256 only, so a token cannot pick a weaker or keyless
 * algorithm. Tokens the backend signs itself (only the tests do) last an hour.
 */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    await fastify.register(fastifyJwt, {
      secret: config.JWT_SECRET,
      sign: { algorithm: 'HS256', expiresIn: '1h' },
      verify: { algorithms: ['HS256'], clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS * 1000 },
    });
  },
  { name: 'jwt' },
);
