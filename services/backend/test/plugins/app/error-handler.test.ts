import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatValidationErrors } from '../../../src/plugins/app/error-handler.js';
import { buildApp, dropAndClose, testConfig } from '../../helper.js';

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
