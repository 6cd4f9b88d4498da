import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, testConfig } from '../../helper.js';

describe('GET /health', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
  });
  afterAll(async () => {
    await app.mongo.db?.dropDatabase();
    await app.close();
  });

  it('answers 200 while the process runs', async () => {
    const reply = await app.inject({ method: 'GET', url: '/health' });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ status: 'ok' });
  });
});
