import Type from 'typebox';

/** The role that may read and change every auction; any other role only reaches its own. */
export const ADMIN_ROLE = 'admin';

/** Claims of a dashboard bearer token (HS256 JWT signed with JWT_SECRET). */
export const TokenClaimsSchema = Type.Object({
  sub: Type.String({ minLength: 1, description: 'The user: owner of the auctions it creates' }),
  role: Type.String({ minLength: 1, description: `"${ADMIN_ROLE}" may reach every auction` }),
});
export type TokenClaims = Type.Static<typeof TokenClaimsSchema>;
