/**
 * The real cluster under test: a database (tools/devdb), our backend on it, a local redis-server,
 * and K socket processes (services/socket/dist/main.js) on one port with REDIS_URL, each with its
 * own SOCKET_PROCESS_ID and OUTBOX_FILE. Everything is registered for cleanup as it starts.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT, startDatabase, type Database } from '@viewer-analytics/devdb';
import { freePort } from '@viewer-analytics/testkit';
import { onCleanup } from '../lib/cleanup.js';
import { MongoClient, seedAuctions } from '../lib/database.js';
import { childPidsNamed } from '../lib/proc.js';
import { startService, type Service } from '../lib/processes.js';
import type { Progress } from '../lib/progress.js';
import { startLocalRedis, type LocalRedis } from '../lib/redis-server.js';

const BACKEND = join(REPO_ROOT, 'services', 'backend', 'dist', 'server.js');
const SOCKET = join(REPO_ROOT, 'services', 'socket', 'dist', 'main.js');
export const KEY_PREFIX = 'bench:';
const DATABASE_NAME = 'bench_cluster';

export interface SocketProcessHandle {
  readonly processId: string;
  readonly service: Service;
  /** Its inspector's port: the bench asks it for a full garbage collection before reading RSS. */
  readonly inspectPort: number;
}

export interface ClusterStack {
  readonly databaseKind: string;
  /** The database server's processes when this run started it (FerretDB), for their CPU. */
  readonly databasePids: readonly number[];
  readonly redis: LocalRedis;
  readonly backend: Service;
  readonly port: number;
  readonly sockets: readonly SocketProcessHandle[];
  /** Socket processes first (they leave the cluster and save their windows), then the rest. */
  stop(): Promise<void>;
}

export interface StackOptions {
  readonly runDir: string;
  readonly progress: Progress;
  readonly auctions: readonly string[];
  readonly socketProcesses: number;
  readonly maxConnections: number;
  readonly broadcastIntervalMs: number;
}

export async function startClusterStack(options: StackOptions): Promise<ClusterStack> {
  const { runDir, progress } = options;
  const registered: (() => void)[] = [];
  const database: Database = await startDatabase({
    log: (message) => {
      progress.step(`database: ${message}`);
    },
  });
  registered.push(onCleanup('database', () => database.stop()));
  const databasePids = database.kind === 'ferretdb' ? childPidsNamed('ferretdb') : [];
  const mongo = new MongoClient(database.uri);
  try {
    await mongo.connect();
    await seedAuctions(mongo, DATABASE_NAME, options.auctions);
  } finally {
    await mongo.close();
  }

  const redis = await startLocalRedis(join(runDir, 'redis-server.log'));
  registered.push(onCleanup('redis-server', () => redis.stop()));
  progress.step(`redis-server ${redis.version} at ${redis.url} (pid ${redis.pid})`);

  const internalKey = randomBytes(24).toString('hex');
  const backendPort = await freePort();
  const backend = await startService({
    name: 'backend',
    script: BACKEND,
    port: backendPort,
    logFile: join(runDir, 'backend.log'),
    env: {
      NODE_ENV: 'production',
      BACKEND_HOST: '127.0.0.1',
      BACKEND_PORT: String(backendPort),
      MONGODB_URI: database.uri,
      MONGODB_DATABASE: DATABASE_NAME,
      INTERNAL_API_KEY: internalKey,
      JWT_SECRET: randomBytes(24).toString('hex'),
      LOG_LEVEL: 'warn',
    },
  });
  registered.push(onCleanup('backend', () => backend.stop()));

  const port = await freePort();
  const sockets: SocketProcessHandle[] = [];
  for (let i = 0; i < options.socketProcesses; i++) {
    const processId = `bench-host:${i}`;
    const name = `socket-${i}`;
    const inspectPort = await freePort();
    const service = await startService({
      name,
      script: SOCKET,
      execArgv: [`--inspect=127.0.0.1:${inspectPort}`],
      port,
      logFile: join(runDir, `${name}.log`),
      // The shared port's /health may be answered by a process started earlier.
      readyLogLine: '"msg":"socket server listening"',
      env: {
        NODE_ENV: 'production',
        SOCKET_HOST: '127.0.0.1',
        SOCKET_PORT: String(port),
        BACKEND_API_URL: backend.origin,
        INTERNAL_API_KEY: internalKey,
        OUTBOX_FILE: join(runDir, `${name}-outbox.bin`),
        SHUTDOWN_FLUSH_TIMEOUT_MS: '2000',
        // Auction lookups stay cached for the run: joins are answered from memory once warm.
        LOOKUP_TTL_MS: '3600000',
        MAX_CONNECTIONS: String(options.maxConnections),
        BROADCAST_INTERVAL_MS: String(options.broadcastIntervalMs),
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: KEY_PREFIX,
        SOCKET_PROCESS_ID: processId,
        LOG_LEVEL: 'info',
      },
    });
    registered.push(onCleanup(name, () => service.stop(2_000)));
    sockets.push({ processId, service, inspectPort });
  }
  progress.step(`${sockets.length} socket processes on port ${port}: pids ${sockets.map((s) => s.service.pid).join(', ')}`);

  return {
    databaseKind: database.kind === 'ferretdb' ? 'FerretDB (tools/devdb)' : database.kind,
    databasePids,
    redis,
    backend,
    port,
    sockets,
    async stop() {
      await Promise.all(sockets.map((socket) => socket.service.stop(10_000)));
      await backend.stop();
      await redis.stop();
      await database.stop();
      for (const unregister of registered) unregister();
    },
  };
}
