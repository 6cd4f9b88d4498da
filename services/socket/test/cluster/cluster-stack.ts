import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { BackendProcess, freePort, SocketProcess, started, stopSocketProcesses, TestDatabase, waitFor, windowEnv } from '../harness.js';

/** The settings of a cluster test: its own key prefix, a short broadcast interval and, when given, short windows. */
export function clusterEnv(prefix: string, window?: { sampleMs: number; samples: number }): NodeJS.ProcessEnv {
  return {
    BROADCAST_INTERVAL_MS: '100',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    ...(window === undefined ? {} : { SAMPLE_INTERVAL_MS: String(window.sampleMs), SAMPLES_PER_SNAPSHOT: String(window.samples) }),
  };
}

/**
 * Starts a socket process on a port it may share with others (SO_REUSEPORT): its health URL may
 * be answered by another one, so its own log tells when it listens.
 */
export async function startOnSharedPort(port: number, backendUrl: string, env: NodeJS.ProcessEnv): Promise<SocketProcess> {
  const service = new SocketProcess(port, backendUrl, env);
  service.spawn();
  const processId = env['SOCKET_PROCESS_ID'] ?? 'a socket process';
  await waitFor(
    () => {
      if (!service.running) throw new Error(`${processId} exited:\n${service.output.slice(-10).join('\n')}`);
      return service.logs.some((line) => line.msg === 'socket server listening');
    },
    15_000,
    `${processId} to listen`,
  );
  return service;
}

export interface ClusterStack {
  readonly database: TestDatabase;
  readonly redis: RedisInstance;
  /** A connection of the test's own, to read what the processes wrote. */
  readonly admin: Redis;
  readonly backend: BackendProcess;
}

/**
 * For a test file: a database, a Redis and the real backend (with the file's windows), up before
 * its tests and down after; the socket processes a test started are killed after it.
 */
export function useClusterStack(testFile: string, env: NodeJS.ProcessEnv, afterEachTest: () => Promise<void> = async () => undefined): ClusterStack {
  const database = new TestDatabase(testFile);
  let redis: RedisInstance | undefined;
  let admin: Redis | undefined;
  let backend: BackendProcess | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    backend = new BackendProcess(await freePort(), database.name, windowEnv(env));
    await backend.start();
  });
  afterEach(async () => {
    await afterEachTest();
    await stopSocketProcesses();
  });
  afterAll(async () => {
    admin?.disconnect();
    await backend?.stop();
    await redis?.stop();
    await database.close();
  });
  return {
    database,
    get redis() {
      return started(redis);
    },
    get admin() {
      return started(admin);
    },
    get backend() {
      return started(backend);
    },
  };
}

/** The process holding the lease, from its value `<processId>:<epoch>:<token>`. */
export async function waitForLeader(admin: Redis, prefix: string): Promise<string> {
  let leader: string | undefined;
  await waitFor(
    async () => {
      leader = (await admin.get(`${prefix}leader`))?.split(':')[0];
      return leader !== undefined;
    },
    10_000,
    'a leader',
  );
  return leader!;
}
