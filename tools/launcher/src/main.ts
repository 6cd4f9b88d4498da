/**
 * The start command: a database (MONGODB_URI, Docker or a local FerretDB), the backend and the
 * socket server, with development defaults; Ctrl-C stops all of them, database included. With
 * SOCKET_PROCESSES above 1: a Redis too, and that many socket processes on one port, supervised.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startDatabase } from '@viewer-analytics/devdb';
import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { installShutdown } from '@viewer-analytics/shared';
import { NodeService } from '@viewer-analytics/testkit';
import { demoAuction } from './demo-auction.js';
import { signDevToken } from './dev-token.js';
import { servesOn } from './listening.js';
import { say } from './say.js';
import { socketProcessCount, slotEnv } from './socket-slots.js';
import { ProcessSupervisor } from './socket-supervisor.js';

const envFile = join(REPO_ROOT, '.env');
if (existsSync(envFile)) {
  process.loadEnvFile(envFile);
  say('loaded .env');
}
let socketProcesses = 1;
try {
  socketProcesses = socketProcessCount(process.env);
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
const backendPort = process.env['BACKEND_PORT'] ?? '8080';
const socketPort = process.env['SOCKET_PORT'] ?? '8081';
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: process.env['NODE_ENV'] ?? 'development',
  BACKEND_PORT: backendPort,
  SOCKET_PORT: socketPort,
  BACKEND_API_URL: process.env['BACKEND_API_URL'] ?? `http://127.0.0.1:${backendPort}`,
  // Development only: fresh secrets per run unless .env names them (production refuses short ones).
  INTERNAL_API_KEY: process.env['INTERNAL_API_KEY'] ?? randomBytes(24).toString('base64url'),
  JWT_SECRET: process.env['JWT_SECRET'] ?? randomBytes(32).toString('base64url'),
  OUTBOX_FILE: process.env['OUTBOX_FILE'] ?? join(REPO_ROOT, '.data', 'socket-outbox.bin'),
};

const database = await startDatabase({ dataDir: join(REPO_ROOT, '.data', 'ferretdb'), log: say });
env['MONGODB_URI'] ??= database.uri;
/** What runs besides the database, in start order: stopped in reverse, the database last. */
const running: { stop(): Promise<unknown> }[] = [];
/** The socket process(es): a repeated signal is passed on to them. */
let sockets: { signal(signal: NodeJS.Signals): void } | undefined;
let redis: RedisInstance | undefined;

let stopping: Promise<void> | undefined;
function stopAll(code: number): Promise<void> {
  stopping ??= (async () => {
    say('stopping…');
    for (const service of [...running].reverse()) await service.stop();
    await database.stop();
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}
// A second signal never exits early (that would orphan whatever is still running): the socket
// processes get a SIGTERM at once, all of them, and cut their delivery short but still save their
// window; the rest stops in order as before.
installShutdown({
  log: { info: sayWithDetails, error: sayWithDetails },
  close: () => stopAll(0),
  onRepeat: (signal) => {
    say(`${signal} again: still stopping; the socket servers stop at once and cut their delivery short (undelivered snapshots stay in their outbox files)`);
    sockets?.signal('SIGTERM');
  },
});

/** A Node service started until healthy; its unexpected exit stops everything. */
async function startService(name: string, script: string, port: string, serviceEnv: NodeJS.ProcessEnv): Promise<NodeService> {
  const service = new NodeService({ name, script: join(REPO_ROOT, script), env: serviceEnv, healthUrl: `http://127.0.0.1:${port}/health`, detached: true });
  running.push(service);
  await service.start(60_000);
  void service.exited.then((code) => {
    if (stopping === undefined) {
      say(`${name} exited unexpectedly (${String(code)})`);
      void stopAll(1);
    }
  });
  return service;
}

try {
  if (socketProcesses > 1) {
    redis = await startRedis({ dataDir: join(REPO_ROOT, '.data', 'redis'), log: say, env });
    running.push(redis);
  }
  await startService('backend', 'services/backend/dist/server.js', backendPort, env);
  if (redis === undefined) {
    sockets = await startService('socket server', 'services/socket/dist/main.js', socketPort, env);
  } else {
    const redisUrl = redis.url;
    const outboxFile = env['OUTBOX_FILE'] ?? '';
    const supervisor = new ProcessSupervisor({
      name: 'socket server',
      count: socketProcesses,
      script: join(REPO_ROOT, 'services/socket/dist/main.js'),
      env: (slot) => slotEnv(env, slot, hostname(), redisUrl, outboxFile),
      ready: (pid) => servesOn(pid, Number(socketPort), `http://127.0.0.1:${socketPort}/health`),
      log: say,
    });
    running.push(supervisor);
    sockets = supervisor;
    await supervisor.start(60_000);
  }
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  await stopAll(1);
}

const token = signDevToken(env['JWT_SECRET'] ?? '', { sub: 'dev-admin', role: 'admin' }, 12 * 3600);
const backendUrl = `http://localhost:${backendPort}`;
let auctionId = '<auctionId>';
try {
  auctionId = await demoAuction(`http://127.0.0.1:${backendPort}`, token, join(REPO_ROOT, '.data', 'demo-auction-id'));
} catch (error) {
  say(`no demo auction: ${error instanceof Error ? error.message : String(error)}`);
}
for (const line of [
  '',
  'viewer-analytics is running. Point a browser at:',
  `  live view   ${backendUrl}/live/${auctionId}   (open it in two tabs)`,
  `  dashboard   ${backendUrl}/dashboard/auctions/${auctionId}#token=${token}`,
  `  overview    ${backendUrl}/dashboard#token=${token}   (every auction, the heatmap)`,
  `  API docs    ${backendUrl}/docs`,
  '',
  `  backend ${backendUrl} · socket server ws://localhost:${socketPort}${
    redis === undefined ? '' : ` (${String(socketProcesses)} processes on one port, Redis: ${redisKind(redis)})`
  } · database: ${database.kind === 'ferretdb' ? 'FerretDB, data in .data/ferretdb' : database.kind}`,
  '  The token above is a development admin token (12 h); snapshots appear on the dashboard a minute after viewers join.',
  '  Press Ctrl-C to stop everything.',
  '',
]) say(line);

function redisKind(instance: RedisInstance): string {
  if (instance.kind === 'redis-server') return 'redis-server, data in .data/redis';
  return instance.kind === 'url' ? 'REDIS_URL' : 'redis:7 in Docker';
}

/** installShutdown's log lines (pino's shape) as the launcher's. */
function sayWithDetails(details: object, message: string): void {
  const values: unknown[] = Object.values(details);
  const shown = values.map((value) => (value instanceof Error ? (value.stack ?? value.message) : String(value))).join(', ');
  say(shown === '' ? message : `${message} (${shown})`);
}
