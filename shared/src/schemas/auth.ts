import Type from 'typebox';

/** The role that may read and change every auction; any other role only reaches its own. */
export const ADMIN_ROLE = 'admin';

/** Claims of a dashboard bearer token (HS256 JWT signed with JWT_SECRET). */
export const TokenClaimsSchema = Type.Object({
  sub: Type.String({ minLength: 1, description: 'The user: owner of the auctions it creates' }),
  role: Type.String({ minLength: 1, description: `"${ADMIN_ROLE}" may reach every auction` }),
});
export type TokenClaims = Type.Static<typeof TokenClaimsSchema>;

/**
 * The longest a dashboard token is accepted for: its `exp` (required) may lie at most this far
 * ahead of the backend's clock, so a leaked token is useless within a day however it was minted.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;
/** Clock difference tolerated between a token's issuer and the backend, for `exp` and `iat`. */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 30;

/** The time claims every dashboard token must carry (`iat` optional, but never in the future). */
export const TokenTimesSchema = Type.Object({
  exp: Type.Number({ description: 'Expiry, seconds since the epoch: required, at most 24 h ahead' }),
  iat: Type.Optional(Type.Number({ description: 'Issued at, seconds since the epoch: not in the future' })),
});
