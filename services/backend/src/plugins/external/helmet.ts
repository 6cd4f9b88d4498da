import type { IncomingMessage } from 'node:http';
import fastifyHelmet from '@fastify/helmet';
import fp from 'fastify-plugin';

export interface HelmetOptions {
  /** PUBLIC_SOCKET_URL: where the live view connects; empty means the page's own host on :8081. */
  readonly socketUrl: string;
}

/** The socket server the live view may connect to, as page-config.ts picks it in the browser. */
function socketSources(socketUrl: string): string[] | ((request: IncomingMessage) => string) {
  if (socketUrl !== '') return [new URL(socketUrl).origin];
  return (request) => {
    const host = new URL(`http://${request.headers.host ?? 'localhost'}`).hostname;
    return `ws://${host}:8081 wss://${host}:8081`;
  };
}

/**
 * Security headers on every reply: the pages carry a dashboard token, so nothing but our own
 * scripts and styles may run or load, nothing may frame them (clickjacking the analytics toggle),
 * and no URL leaks through Referer. The live view's WebSocket is the one outside connection.
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
