import type { onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { Value } from 'typebox/value';
import {
  MAX_TOKEN_LIFETIME_SECONDS,
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  TokenClaimsSchema,
  TokenTimesSchema,
  type TokenClaims,
} from '@viewer-analytics/shared';
import { UnauthorizedError } from '../../http-error.js';

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

/**
 * What is wrong with a verified token's times, if anything: a token must expire (`exp`), within
 * 24 hours, and must not claim to be issued in the future (beyond the clock tolerance).
 */
export function tokenTimesProblem(claims: unknown, nowMs: number): string | undefined {
  if (!Value.Check(TokenTimesSchema, claims)) return 'the bearer token has no expiry (exp)';
  const now = nowMs / 1000;
  if (claims.exp > now + MAX_TOKEN_LIFETIME_SECONDS + TOKEN_CLOCK_TOLERANCE_SECONDS) {
    return `the bearer token is valid for more than ${String(MAX_TOKEN_LIFETIME_SECONDS / 3600)} hours`;
  }
  if (claims.iat !== undefined && claims.iat > now + TOKEN_CLOCK_TOLERANCE_SECONDS) return 'the bearer token was issued in the future';
  return undefined;
}

/** Verifies the bearer JWT, its times and its claims; `request.user` then holds `sub` and `role`. */
export default fp(
  async (fastify) => {
    const authenticate: onRequestAsyncHookHandler = async (request) => {
      let claims: unknown;
      try {
        claims = await request.jwtVerify();
      } catch (error) {
        throw await fastify.authenticationFailed(request, new UnauthorizedError(refusal(error)));
      }
      // A correctly signed token may still live too long, or lack the claims authorization relies on.
      const problem = tokenTimesProblem(claims, Date.now());
      if (problem !== undefined) throw await fastify.authenticationFailed(request, new UnauthorizedError(problem));
      if (!Value.Check(TokenClaimsSchema, claims)) {
        throw await fastify.authenticationFailed(request, new UnauthorizedError('the bearer token lacks the sub and role claims'));
      }
    };
    fastify.decorate('authenticate', authenticate);
  },
  { name: 'authentication', dependencies: ['jwt', 'rate-limits'] },
);
