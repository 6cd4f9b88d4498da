import { createSigner } from 'fast-jwt';

/** A development JWT (HS256), the kind the backend's dashboard routes accept: `iat` now, `exp` ttl ahead. */
export function signDevToken(secret: string, claims: { sub: string; role: string }, ttlSeconds: number): string {
  // fast-jwt takes the lifetime in milliseconds and writes iat and exp in seconds.
  return createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlSeconds * 1000 })(claims);
}
