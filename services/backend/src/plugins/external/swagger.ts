import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { INTERNAL_API_KEY_HEADER } from '@viewer-analytics/shared';

/** Security scheme names the routes refer to in their `security` lists. */
export const SECURITY = { bearer: 'bearerAuth', internalKey: 'internalApiKey' } as const;

/** OpenAPI 3 generated from the routes' TypeBox schemas: the JSON at /docs/json, the UI at /docs. */
export default fp(
  async (fastify) => {
    await fastify.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'viewer-analytics backend',
          description: 'Viewer snapshots from the socket server, and the dashboard API that reads them.',
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
    await fastify.register(fastifySwaggerUi, { routePrefix: '/docs' });
  },
  { name: 'swagger' },
);
