import { createHmac } from 'node:crypto';

/** A development JWT (HS256), the kind the backend's dashboard routes accept. */
export function signDevToken(secret: string, claims: { sub: string; role: string }, ttlSeconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (part: object): string => Buffer.from(JSON.stringify(part)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, iat: now, exp: now + ttlSeconds })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
