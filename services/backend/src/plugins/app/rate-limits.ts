import type { FastifyError, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { TokenClaims } from '@viewer-analytics/shared';
import type { BackendConfig } from '../../config.js';
import { RateLimitedError } from '../../http-error.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * preValidation hook of the dashboard API: RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS
     * per user (the JWT's sub, known once `authenticate` ran), else per IP; then 429.
     */
    limitDashboardCaller: preValidationAsyncHookHandler;
    /**
     * Counts a failed authentication (bad token, wrong or missing internal key) against the
     * request's IP and returns what to answer: `refusal`, or a 429 once the IP failed
     * AUTH_FAILURE_LIMIT_MAX times within RATE_LIMIT_WINDOW_MS. Valid credentials are never
     * counted, so the socket server's own calls are never throttled.
     */
    authenticationFailed(request: FastifyRequest, refusal: FastifyError): Promise<FastifyError>;
  }
}

/** Who may ask how often: per-caller limits on the dashboard API and on failed authentication. */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    const timeWindow = config.RATE_LIMIT_WINDOW_MS;
    // One hook, which routes/dashboard applies to the whole group: one budget per caller across the API.
    fastify.decorate(
      'limitDashboardCaller',
      fastify.rateLimit({
        max: config.RATE_LIMIT_MAX,
        timeWindow,
        keyGenerator: (request) => {
          // Verified by `authenticate`, which the dashboard group runs first. @fastify/jwt starts
          // every request with null (its type says otherwise): without it, the key is the IP.
          const user = request.user as TokenClaims | null;
          return user === null ? `ip:${request.ip}` : `user:${user.sub}`;
        },
      }),
    );

    const countFailure = fastify.createRateLimit({
      max: config.AUTH_FAILURE_LIMIT_MAX,
      timeWindow,
      keyGenerator: (request) => `auth-failure:${request.ip}`,
    });
    fastify.decorate('authenticationFailed', async (request: FastifyRequest, refusal: FastifyError) => {
      const limit = await countFailure(request);
      return limit.isAllowed || !limit.isExceeded ? refusal : new RateLimitedError(limit.ttlInSeconds);
    });
  },
  { name: 'rate-limits', dependencies: ['rate-limit'] },
);
