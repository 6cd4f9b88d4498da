import { connect, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatValidationErrors } from '../../../src/plugins/app/error-handler.js';
import { buildApp, dropAndClose, testConfig } from '../../helper.js';

interface RawReply {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

/** Sends bytes as they are (no client normalises the path) and reads the reply until the server closes. */
function rawRequest(app: FastifyInstance, request: string): Promise<RawReply> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      resolve({ status: Number(head.split(' ')[1]), headers: head, body });
    });
  });
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

describe('the error handler', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename), {
      extend(instance) {
        instance.get('/test/bug', async () => {
          throw new Error('secret internals: connection string mongodb://user:pass@db');
        });
        instance.get('/test/teapot', async () => {
          throw Object.assign(new Error('I am a teapot'), { statusCode: 418, code: 'TEAPOT' });
        });
      },
    });
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  it('answers an unexpected error with 500 INTERNAL_ERROR and a message that reveals nothing', async () => {
    const reply = await app.inject({ method: 'GET', url: '/test/bug' });
    expect(reply.statusCode).toBe(500);
    expect(reply.json()).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } });
  });

  it('keeps the status of any other client error, in the same envelope', async () => {
    const reply = await app.inject({ method: 'GET', url: '/test/teapot' });
    expect(reply.statusCode).toBe(418);
    expect(reply.json()).toEqual({ success: false, error: { code: 'BAD_REQUEST', message: 'I am a teapot' } });
  });

  it.each([
    ['GET', '/nowhere?token=secret'],
    ['DELETE', '/health'],
    ['GET', '/api/v1/auctions'],
  ] as const)('answers %s %s (no such route) with 404 NOT_FOUND, without the query string', async (method, url) => {
    const reply = await app.inject({ method, url });
    expect(reply.statusCode).toBe(404);
    expect(reply.json()).toEqual({ success: false, error: { code: 'NOT_FOUND', message: `No route ${method} ${url.split('?')[0] ?? ''}` } });
  });
});

describe('errors the router and the HTTP parser raise, in the same shape', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename, { REQUEST_TIMEOUT_MS: '1000' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const LONG = 'a'.repeat(10_000);

  it.each([
    ['a path that is not valid percent-encoding', '/api/v1/auctions/%zz/settings', 400, 'BAD_REQUEST', 'The URL path is not valid percent-encoding'],
    ['a truncated percent-encoding', '/live/%E0%A4%A', 400, 'BAD_REQUEST', 'The URL path is not valid percent-encoding'],
    ['a 10 KB path segment', `/live/${LONG}`, 414, 'URI_TOO_LONG', 'A path segment is longer than 100 characters'],
    ['a 10 KB path that matches no route', `/${LONG}`, 404, 'NOT_FOUND', `No route GET /${'a'.repeat(99)}…`],
    ['a traversal out of /assets', '/assets/../../../etc/passwd', 403, 'FORBIDDEN', 'Forbidden'],
    ['an encoded traversal out of /assets', '/assets/%2e%2e/package.json', 403, 'FORBIDDEN', 'Forbidden'],
    ['a request line and headers over 16 KB', `/${'a'.repeat(20_000)}`, 431, 'HEADERS_TOO_LARGE', 'The request line and headers are too large'],
  ])('answers %s with %i %s', async (_name, path, status, code, message) => {
    const reply = await rawRequest(app, get(path));
    expect(reply.status).toBe(status);
    expect(reply.headers.toLowerCase()).toContain('content-type: application/json');
    expect(JSON.parse(reply.body)).toEqual({ success: false, error: { code, message } });
  });

  it('answers a request not received within REQUEST_TIMEOUT_MS with 408 REQUEST_TIMEOUT and closes', async () => {
    const started = Date.now();
    // Headers that never end: a slow (or malicious) client.
    const reply = await rawRequest(app, 'GET /health HTTP/1.1\r\nHost: localhost\r\n');
    expect(reply.status).toBe(408);
    expect(JSON.parse(reply.body)).toEqual({ success: false, error: { code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('answers bytes that are not HTTP with 400 BAD_REQUEST', async () => {
    const reply = await rawRequest(app, 'HELLO\r\n\r\n');
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({ success: false, error: { code: 'BAD_REQUEST', message: 'The request is not valid HTTP' } });
  });
});

describe('validation messages', () => {
  const error = (keyword: string, instancePath: string, params: Record<string, unknown>, message?: string) => ({
    keyword,
    instancePath,
    schemaPath: '#',
    params,
    message,
  });

  it('name the field with its path, batch item index included', () => {
    expect(formatValidationErrors([error('type', '/snapshots/17/peakViewers', { type: 'integer' }, 'must be integer')], 'body').message).toBe(
      'body/snapshots/17/peakViewers: must be integer',
    );
  });

  it('name a missing field', () => {
    expect(formatValidationErrors([error('required', '/snapshots/3', { missingProperty: 'timestamp' })], 'body').message).toBe(
      'body/snapshots/3/timestamp: is required',
    );
  });

  it('name a field that is not allowed', () => {
    expect(formatValidationErrors([error('additionalProperties', '', { additionalProperty: 'extra' })], 'body').message).toBe('body/extra: is not allowed');
  });

  it('list the choices of an enum', () => {
    expect(formatValidationErrors([error('enum', '/timeRange', { allowedValues: ['all', '1h'] }, 'must be equal to one of the allowed values')], 'querystring').message).toBe(
      'querystring/timeRange: must be one of all, 1h',
    );
  });

  it('use the validator’s own message otherwise', () => {
    expect(formatValidationErrors([error('maxItems', '/snapshots', { limit: 5000 }, 'must NOT have more than 5000 items')], 'body').message).toBe(
      'body/snapshots: must NOT have more than 5000 items',
    );
  });
});
