import { readFile, writeFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, dropAndClose, testConfig } from '../../helper.js';

interface Operation {
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  security?: Record<string, unknown>[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string }> };
}

/** Every route of the API, and exactly the statuses each can answer. */
const DATABASE = ['500', '503'];
/** Authenticated operations may answer 429: too many requests, or too many failed authentications. */
const LIMITED = ['429', ...DATABASE];
const OPERATIONS: Record<string, Record<string, string[]>> = {
  '/health': { get: ['200'] },
  '/ready': { get: ['200', ...DATABASE] },
  '/metrics': { get: ['200'] },
  '/api/v1/auctions': { post: ['201', '400', '401', '403', '413', '415', ...LIMITED] },
  '/api/v1/auctions/{id}': { get: ['200', '400', '401', '403', '404', ...LIMITED] },
  '/api/v1/auctions/{id}/settings': {
    get: ['200', '400', '401', '403', '404', ...LIMITED],
    patch: ['200', '400', '401', '403', '404', '413', '415', ...LIMITED],
  },
  '/api/v1/auctions/{id}/analytics/snapshot': { post: ['201', '200', '400', '401', '404', '413', '415', ...LIMITED] },
  '/api/v1/auctions/{id}/analytics/viewers': { get: ['200', '400', '401', '403', '404', ...LIMITED] },
  '/api/v1/analytics/overview': { get: ['200', '400', '401', '403', ...LIMITED] },
  '/api/v1/analytics/heatmap': { get: ['200', '400', '401', '403', ...LIMITED] },
  '/api/v1/analytics/snapshots': { post: ['200', '400', '401', '413', '415', ...LIMITED] },
  '/api/v1/internal/auctions/{id}': { get: ['200', '400', '401', '404', ...LIMITED] },
};

/** The HTTP reference kept in the repository; `UPDATE_OPENAPI=1` rewrites it from the routes. */
const COMMITTED = new URL('../../../../../docs/openapi.json', import.meta.url);

describe('OpenAPI documentation', () => {
  let app: FastifyInstance;
  let document: OpenApiDocument;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
    const reply = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(reply.statusCode).toBe(200);
    document = reply.json<OpenApiDocument>();
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  it('is an OpenAPI 3 document with a title and version', () => {
    expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(document.info.title).not.toBe('');
    expect(document.info.version).not.toBe('');
  });

  it('lists exactly the API’s routes, not the docs’ own', () => {
    expect(Object.keys(document.paths).sort()).toEqual(Object.keys(OPERATIONS).sort());
    for (const [path, methods] of Object.entries(OPERATIONS)) expect(Object.keys(document.paths[path] ?? {}).sort()).toEqual(Object.keys(methods).sort());
  });

  it('documents every status each operation answers, each with a schema', () => {
    for (const [path, methods] of Object.entries(OPERATIONS)) {
      for (const [method, statuses] of Object.entries(methods)) {
        const responses = document.paths[path]?.[method]?.responses ?? {};
        expect(Object.keys(responses).sort(), `${method} ${path}`).toEqual([...statuses].sort());
        for (const [status, response] of Object.entries(responses)) {
          const media = Object.values(response.content ?? {});
          expect(media.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
          for (const { schema } of media) expect(schema, `${method} ${path} ${status}`).toBeTypeOf('object');
        }
      }
    }
  });

  it('documents error replies with the error envelope', () => {
    const schema = document.paths['/api/v1/analytics/snapshots']?.['post']?.responses?.['400']?.content?.['application/json']?.schema;
    expect(schema).toMatchObject({
      type: 'object',
      required: ['success', 'error'],
      properties: { error: { type: 'object', required: ['code', 'message'] } },
    });
  });

  it('documents every error code, and the errors the server answers outside any route', () => {
    const schema = document.paths['/api/v1/auctions/{id}']?.['get']?.responses?.['404']?.content?.['application/json']?.schema as
      | { properties: { error: { properties: { code: { description: string } } } } }
      | undefined;
    const codes = schema?.properties.error.properties.code.description ?? '';
    for (const code of ['BAD_REQUEST', 'FORBIDDEN', 'NOT_FOUND', 'REQUEST_TIMEOUT', 'URI_TOO_LONG', 'HEADERS_TOO_LARGE', 'RATE_LIMITED', 'DATABASE_UNAVAILABLE', 'SNAPSHOT_IN_FUTURE', 'INVALID_SNAPSHOT']) {
      expect(codes).toContain(code);
    }
    const description = (document.info as { description?: string }).description ?? '';
    for (const status of ['400 BAD_REQUEST', '403 FORBIDDEN', '404 NOT_FOUND', '408 REQUEST_TIMEOUT', '414 URI_TOO_LONG', '431 HEADERS_TOO_LARGE', '429 RATE_LIMITED']) {
      expect(description).toContain(status);
    }
  });

  it('names the security scheme of every protected operation, and each scheme exists', () => {
    const schemes = Object.keys(document.components.securitySchemes);
    expect(schemes.sort()).toEqual(['bearerAuth', 'internalApiKey']);
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const open = ['/health', '/ready', '/metrics'].includes(path);
        expect(operation.security === undefined, `${method} ${path}`).toBe(open);
        for (const requirement of operation.security ?? []) for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
      }
    }
  });

  it('describes path parameters and JSON request bodies', () => {
    const snapshot = document.paths['/api/v1/auctions/{id}/analytics/snapshot']?.['post'];
    expect(snapshot?.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path' })]);
    const body = snapshot?.requestBody?.content?.['application/json']?.schema as { type?: string; required?: string[] } | undefined;
    expect(body?.type).toBe('object');
    expect(body?.required).toEqual(['timestamp', 'viewerCount', 'avgViewers', 'peakViewers', 'minViewers', 'sampleCount']);
  });

  it('has no $ref that points nowhere', () => {
    const text = JSON.stringify(document);
    for (const [, ref] of text.matchAll(/"\$ref":"([^"]+)"/g)) {
      const target = (ref ?? '').replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
      expect(target, ref).toBeDefined();
    }
  });

  it('is the document committed as docs/openapi.json (UPDATE_OPENAPI=1 rewrites it)', async () => {
    const generated = `${JSON.stringify(document, null, 2)}\n`;
    if (process.env['UPDATE_OPENAPI'] === '1') await writeFile(COMMITTED, generated);
    expect(await readFile(COMMITTED, 'utf8'), 'docs/openapi.json is stale: run the backend tests with UPDATE_OPENAPI=1').toBe(generated);
  });

  it('serves the Swagger UI at /docs', async () => {
    const reply = await app.inject({ method: 'GET', url: '/docs' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toContain('text/html');
    // Its own policy (Swagger UI styles inline), still unframeable.
    expect(reply.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });
});
