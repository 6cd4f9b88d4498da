import Fastify, { type FastifyInstance } from 'fastify';
import type { Db } from 'mongodb';
import type { DestinationStream } from 'pino';
import { inject } from 'vitest';
import { testDatabaseName } from '@viewer-analytics/devdb';
import { INTERNAL_API_KEY_HEADER, type Snapshot, type TokenClaims } from '@viewer-analytics/shared';
import app, { fastifyOptions } from '../src/app.js';
import { loadConfig, type BackendConfig } from '../src/config.js';

export const TEST_INTERNAL_API_KEY = 'test-internal-key-0123456789abcdef';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdefghij';

/** Configuration of a test app: the run's database server, a database of the test file's own. */
export function testConfig(testFile: string, overrides: NodeJS.ProcessEnv = {}): BackendConfig {
  return loadConfig({
    NODE_ENV: 'test',
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DATABASE: testDatabaseName(testFile),
    INTERNAL_API_KEY: TEST_INTERNAL_API_KEY,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

/** The real app, as server.ts builds it, ready for `app.inject()`; `extend` may add routes before it starts. */
export async function buildApp(
  config: BackendConfig,
  { logs, extend }: { logs?: DestinationStream; extend?: (instance: FastifyInstance) => void } = {},
): Promise<FastifyInstance> {
  const instance = Fastify(fastifyOptions(config, logs));
  await instance.register(app, { config });
  extend?.(instance);
  await instance.ready();
  return instance;
}

/** A log destination that keeps every line, parsed. */
export function logCollector(): DestinationStream & { readonly lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
}

/** The test file's database, dropped, and the app closed. */
export async function dropAndClose(instance: FastifyInstance): Promise<void> {
  await database(instance).dropDatabase();
  await instance.close();
}

export function database(instance: FastifyInstance): Db {
  const db = instance.mongo.db;
  if (db === undefined) throw new Error('the app has no database');
  return db;
}

export const internalKey = { [INTERNAL_API_KEY_HEADER]: TEST_INTERNAL_API_KEY } as const;

export const ADMIN: TokenClaims = { sub: 'admin-1', role: 'admin' };
export const OWNER: TokenClaims = { sub: 'owner-1', role: 'user' };
export const STRANGER: TokenClaims = { sub: 'stranger-1', role: 'user' };

/** An Authorization header with a token the app itself signs. */
export function bearer(instance: FastifyInstance, claims: TokenClaims): { authorization: string } {
  return { authorization: `Bearer ${instance.jwt.sign(claims)}` };
}

/** An auction stored directly, owned by OWNER unless said otherwise; its hex id. */
export async function createAuction(
  instance: FastifyInstance,
  { ownerId = OWNER.sub, enableViewerAnalytics = true }: { ownerId?: string; enableViewerAnalytics?: boolean } = {},
): Promise<string> {
  const auction = await instance.auctions.create({ title: 'Test auction', ownerId });
  if (enableViewerAnalytics) await instance.auctions.setViewerAnalytics(auction._id, true);
  return auction._id.toHexString();
}

const MINUTE_MS = 60_000;
/** The current minute when the test file started: windows computed from it agree across a minute boundary. */
const CURRENT_MINUTE = Math.floor(Date.now() / MINUTE_MS);

/** The start of the minute `minutesAgo` minutes back: an aligned window, as the socket server sends. */
export function windowStart(minutesAgo = 0): string {
  return new Date((CURRENT_MINUTE - minutesAgo) * MINUTE_MS).toISOString();
}

/** A valid full-minute snapshot; fields overridable. */
export function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return { timestamp: windowStart(), viewerCount: 475, avgViewers: 445, peakViewers: 475, minViewers: 420, sampleCount: 12, ...overrides };
}
