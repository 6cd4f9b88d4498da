import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, dropAndClose, testConfig } from '../../helper.js';

/** The Content-Security-Policy as directive → sources. */
function policy(header: unknown): Map<string, string[]> {
  return new Map(
    String(header)
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name !== undefined && name !== '')
      .map(([name = '', ...sources]) => [name, sources]),
  );
}

describe('security headers', () => {
  let app: FastifyInstance;
  let sameHost: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename, { PUBLIC_SOCKET_URL: 'wss://live.example.com:9443/' }));
    sameHost = await buildApp(testConfig(import.meta.filename));
  });
  afterAll(async () => {
    await dropAndClose(app);
    await dropAndClose(sameHost);
  });

  it.each(['/dashboard', '/dashboard/auctions/665f1c2a9b1e8a0012345678', '/live/665f1c2a9b1e8a0012345678'])(
    '%s: only our own scripts and styles, the socket server (WebSocket and HTTP) as the one outside connection, never framed',
    async (url) => {
      const reply = await app.inject({ url });
      expect(reply.statusCode).toBe(200);
      const csp = policy(reply.headers['content-security-policy']);
      expect(csp.get('default-src')).toEqual(["'self'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('style-src')).toEqual(["'self'"]);
      expect(csp.get('connect-src')).toEqual(["'self'", 'wss://live.example.com:9443', 'https://live.example.com:9443']);
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      expect(csp.has('upgrade-insecure-requests')).toBe(false); // it would turn ws:// into wss://
      expect(reply.headers['x-frame-options']).toBe('DENY');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.headers['referrer-policy']).toBe('no-referrer');
    },
  );

  it('lets the pages reach the page’s own host on :8081 when PUBLIC_SOCKET_URL is empty', async () => {
    const reply = await sameHost.inject({ url: '/live/665f1c2a9b1e8a0012345678', headers: { host: 'auctions.example.com:8080' } });
    expect(policy(reply.headers['content-security-policy']).get('connect-src')).toEqual([
      "'self'",
      'ws://auctions.example.com:8081',
      'wss://auctions.example.com:8081',
      'http://auctions.example.com:8081',
      'https://auctions.example.com:8081',
    ]);
  });

  it('comes with API replies and errors too', async () => {
    const reply = await app.inject({ url: '/api/v1/auctions/665f1c2a9b1e8a0012345678' });
    expect(reply.statusCode).toBe(401);
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(policy(reply.headers['content-security-policy']).get('frame-ancestors')).toEqual(["'none'"]);
  });
});
