import type { IncomingMessage } from 'node:http';
import fastifyHelmet from '@fastify/helmet';
import fp from 'fastify-plugin';

export interface HelmetOptions {
  /** PUBLIC_SOCKET_URL: where the live view connects; empty means the page's own host on :8081. */
  readonly socketUrl: string;
}

/**
 * The socket server the pages may reach, as page-config.ts picks it in the browser: its WebSocket
 * (the live view) and its HTTP side on the same host and port (the overview's live counts).
 * Chromium does not let a ws: source cover http:, so both are named.
 */
function socketSources(socketUrl: string): string[] | ((request: IncomingMessage) => string) {
  if (socketUrl !== '') {
    const url = new URL(socketUrl);
    return [url.origin, `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`];
  }
  return (request) => {
    const host = new URL(`http://${request.headers.host ?? 'localhost'}`).hostname;
    return `ws://${host}:8081 wss://${host}:8081 http://${host}:8081 https://${host}:8081`;
  };
}

/**
 * Security headers on every reply: the pages carry a dashboard token, so nothing but our own
 * scripts and styles may run or load, nothing may frame them (clickjacking the analytics toggle),
 * and no URL leaks through Referer. The socket server is the one outside connection.
 */
export default fp<HelmetOptions>(
  async (fastify, { socketUrl }) => {
    await fastify.register(fastifyHelmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'", socketSources(socketUrl)].flat(),
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    });
  },
  { name: 'helmet' },
);
