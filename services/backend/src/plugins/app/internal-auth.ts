import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { INTERNAL_API_KEY_HEADER } from '@viewer-analytics/shared';
import type { BackendConfig } from '../../config.js';
import { UnauthorizedError } from '../../http-error.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook of the socket server's routes: 401 unless the internal API key is sent. */
    requireInternalKey: onRequestAsyncHookHandler;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The shared secret of the socket server, checked before the body is read. Digests make both
 * sides the same length, so the comparison time reveals neither the key nor its length.
 */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    const expected = digest(config.INTERNAL_API_KEY);
    const requireInternalKey: onRequestAsyncHookHandler = async (request) => {
      const sent = request.headers[INTERNAL_API_KEY_HEADER];
      if (typeof sent !== 'string' || !timingSafeEqual(digest(sent), expected)) {
        throw await fastify.authenticationFailed(request, new UnauthorizedError(`missing or wrong ${INTERNAL_API_KEY_HEADER} header`));
      }
    };
    fastify.decorate('requireInternalKey', requireInternalKey);
  },
  { name: 'internal-auth', dependencies: ['rate-limits'] },
);
