import type { onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { Value } from 'typebox/value';
import { TokenClaimsSchema, type TokenClaims } from '@viewer-analytics/shared';
import { unauthorized } from '../../http-error.js';

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenClaims;
    user: TokenClaims;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook of the dashboard routes: 401 unless a valid bearer token comes with the request. */
    authenticate: onRequestAsyncHookHandler;
  }
}

/** Why a token was refused, in words that say nothing about the token itself. */
function refusal(error: unknown): string {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') return 'a bearer token is required';
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') return 'the bearer token has expired';
  return 'the bearer token is invalid';
}

/** Verifies the bearer JWT and its claims; `request.user` then holds `sub` and `role`. */
export default fp(
  async (fastify) => {
    const authenticate: onRequestAsyncHookHandler = async (request) => {
      let claims: unknown;
      try {
        claims = await request.jwtVerify();
      } catch (error) {
        throw unauthorized(refusal(error));
      }
      // A correctly signed token may still lack the claims authorization relies on.
      if (!Value.Check(TokenClaimsSchema, claims)) throw unauthorized('the bearer token lacks the sub and role claims');
    };
    fastify.decorate('authenticate', authenticate);
  },
  { name: 'authentication', dependencies: ['jwt'] },
);
