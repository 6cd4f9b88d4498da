import { createVerifier } from 'fast-jwt';
import { describe, expect, it } from 'vitest';
import { signDevToken } from '../src/dev-token.js';

describe('the development token', () => {
  it('is an HS256 JWT with its claims, iat now and exp its lifetime ahead, as the backend requires', () => {
    const secret = 'launcher-test-secret-0123456789abcdef';
    const before = Math.floor(Date.now() / 1000);
    const token = signDevToken(secret, { sub: 'dev-admin', role: 'admin' }, 12 * 3600);
    const claims = createVerifier({ key: secret, algorithms: ['HS256'] })(token) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: 'dev-admin', role: 'admin' });
    const iat = claims['iat'] as number;
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(claims['exp']).toBe(iat + 12 * 3600);
    expect(() => {
      createVerifier({ key: 'another-secret-0123456789abcdef' })(token);
    }).toThrow();
  });
});
