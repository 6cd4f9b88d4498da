import fastifyRateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { RateLimitedError } from '../../http-error.js';

/**
 * The rate limiter's machinery, applied to no route by itself: plugins/app/rate-limits decides
 * who is limited. Its 429s go through our error handler, in our error shape.
 */
export default fp(
  async (fastify) => {
    await fastify.register(fastifyRateLimit, {
      global: false,
      errorResponseBuilder: (_request, { ttl }) => new RateLimitedError(Math.ceil(ttl / 1000)),
    });
  },
  { name: 'rate-limit' },
);
