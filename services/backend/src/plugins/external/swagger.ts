import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { INTERNAL_API_KEY_HEADER } from '@viewer-analytics/shared';
import { SECURITY } from '../../schemas/route-group.js';

/** OpenAPI 3 generated from the routes' TypeBox schemas: the JSON at /docs/json, the UI at /docs. */
export default fp(
  async (fastify) => {
    await fastify.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'viewer-analytics backend',
          description: [
            'Viewer snapshots from the socket server, and the dashboard API that reads them.',
            '',
            'Every error, from a route or from the server itself, is `{"success":false,"error":{"code","message"}}`. ' +
              'Besides the statuses each operation lists, any request can get: 400 BAD_REQUEST (a path that is not valid ' +
              'percent-encoding, or a request that is not valid HTTP), 403 FORBIDDEN (an /assets path that tries to leave ' +
              'the assets), 404 NOT_FOUND (no such route or asset), 408 REQUEST_TIMEOUT (not received within REQUEST_TIMEOUT_MS), 414 URI_TOO_LONG ' +
              '(a path segment longer than 100 characters), 431 HEADERS_TOO_LARGE (request line and headers over 16 KB). ' +
              'Messages never repeat more than 100 characters of the path.',
            '',
            'Rate limits: the dashboard API allows RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS per user (JWT sub); ' +
              'an IP that fails authentication (bad token, wrong or missing internal key) AUTH_FAILURE_LIMIT_MAX times in ' +
              'that window gets 429 RATE_LIMITED instead of 401 until the window ends. Each 429 carries Retry-After (seconds). ' +
              'Requests with valid internal keys are never limited.',
          ].join('\n'),
          version: '1.0.0',
        },
        components: {
          securitySchemes: {
            [SECURITY.bearer]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            [SECURITY.internalKey]: { type: 'apiKey', in: 'header', name: INTERNAL_API_KEY_HEADER },
          },
        },
      },
    });
    await fastify.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      // Its own policy (helmet's is for our pages): Swagger UI styles elements inline.
      staticCSP:
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    });
  },
  { name: 'swagger' },
);
