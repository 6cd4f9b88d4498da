import { join } from 'node:path';
import { REPO_ROOT } from '@viewer-analytics/devdb';
import type { BenchConfig, SocketServerName } from '../config.js';
import type { MongoClient } from '../lib/database.js';
import { freePort } from '@viewer-analytics/testkit';
import { startService, type Service } from '../lib/processes.js';
import type { Progress } from '../lib/progress.js';
import type { LoadWorker } from '../load/pool.js';
import type { Target } from '../load/raw-viewer.js';

/** Everything the scenarios share during one run. */
export interface Context {
  readonly config: BenchConfig;
  readonly progress: Progress;
  /** bench/results/<run>/: logs, the known-auctions file, outbox files. */
  readonly runDir: string;
  readonly mongo: MongoClient;
  readonly databaseUri: string;
  /** PIDs of the database server when the bench started it (FerretDB), for its CPU. */
  readonly databasePids: readonly number[];
  readonly internalKey: string;
  readonly jwtSecret: string;
  readonly workers: readonly LoadWorker[];
  readonly probeWorker: LoadWorker;
  /** Database of the socket suites: the live and probe auctions, known to our backend. */
  readonly liveDatabase: string;
  readonly liveAuctions: readonly string[];
  readonly probeAuctions: readonly string[];
  /** The live and probe auction ids, one per line: what the socket peers accept. */
  readonly knownAuctionsFile: string;
}

export const SOCKET_SERVER_LABEL: Record<SocketServerName, string> = {
  ours: 'ours (uWS)',
  ws: 'ws',
  socketio: 'Socket.IO',
};

const OUR_BACKEND = join(REPO_ROOT, 'services', 'backend', 'dist', 'server.js');
const OUR_SOCKET = join(REPO_ROOT, 'services', 'socket', 'dist', 'main.js');
const PEERS = join(REPO_ROOT, 'bench', 'dist', 'peers');

export async function startOurBackend(ctx: Context, database: string, name: string, extra: Record<string, string> = {}): Promise<Service> {
  const port = await freePort();
  return startService({
    name,
    script: OUR_BACKEND,
    // As a load balancer would: /ready answers once the process has loaded what its reads need.
    readyPath: '/ready',
    port,
    logFile: join(ctx.runDir, `${name}.log`),
    env: {
      NODE_ENV: 'production',
      BACKEND_HOST: '127.0.0.1',
      BACKEND_PORT: String(port),
      MONGODB_URI: ctx.databaseUri,
      MONGODB_DATABASE: database,
      INTERNAL_API_KEY: ctx.internalKey,
      JWT_SECRET: ctx.jwtSecret,
      LOG_LEVEL: 'warn',
      ...extra,
    },
  });
}

export async function startOurSocket(ctx: Context, backend: Service, name: string, extra: Record<string, string> = {}): Promise<Service> {
  const port = await freePort();
  return startService({
    name,
    script: OUR_SOCKET,
    // BENCH_CPU_PROF=1: a V8 profile of its whole life in the run's folder (summary: dist/cpu-profile.js).
    execArgv: process.env['BENCH_CPU_PROF'] === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.runDir, `${name}-cpu-prof`)}`] : [],
    port,
    logFile: join(ctx.runDir, `${name}.log`),
    env: {
      NODE_ENV: 'production',
      SOCKET_HOST: '127.0.0.1',
      SOCKET_PORT: String(port),
      BACKEND_API_URL: backend.origin,
      INTERNAL_API_KEY: ctx.internalKey,
      OUTBOX_FILE: join(ctx.runDir, `${name}-outbox.bin`),
      SHUTDOWN_FLUSH_TIMEOUT_MS: '2000',
      // The auction lookups stay cached for the whole run (a warm cache, measured from memory).
      LOOKUP_TTL_MS: '3600000',
      LOG_LEVEL: 'info',
      ...extra,
    },
  });
}

export async function startSocketPeer(ctx: Context, which: 'ws' | 'socketio', extra: Record<string, string> = {}): Promise<Service> {
  const port = await freePort();
  const name = which === 'ws' ? 'peer-ws' : 'peer-socketio';
  return startService({
    name,
    script: join(PEERS, which === 'ws' ? 'ws-server.js' : 'socketio-server.js'),
    port,
    logFile: join(ctx.runDir, `${name}.log`),
    env: { NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), KNOWN_AUCTIONS_FILE: ctx.knownAuctionsFile, ...extra },
  });
}

export async function startExpressPeer(ctx: Context, database: string, name: string): Promise<Service> {
  const port = await freePort();
  return startService({
    name,
    script: join(PEERS, 'express-ingest.js'),
    port,
    logFile: join(ctx.runDir, `${name}.log`),
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      MONGODB_URI: ctx.databaseUri,
      MONGODB_DATABASE: database,
      INTERNAL_API_KEY: ctx.internalKey,
    },
  });
}

export function targetOf(server: SocketServerName, service: Service): Target {
  return { kind: server === 'socketio' ? 'socketio' : 'plain', host: '127.0.0.1', port: service.port };
}

/** Rotates a list so that worker w starts at a different auction than worker w-1. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = ((by % items.length) + items.length) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
