/**
 * The start command: a database (MONGODB_URI, Docker or a local FerretDB), the backend and the
 * socket server, with development defaults; Ctrl-C stops all of them, database included.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startDatabase } from '@viewer-analytics/devdb';
import { demoAuction } from './demo-auction.js';
import { signDevToken } from './dev-token.js';
import { say } from './say.js';
import { NodeService } from '@viewer-analytics/testkit';


const envFile = join(REPO_ROOT, '.env');
if (existsSync(envFile)) {
  process.loadEnvFile(envFile);
  say('loaded .env');
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
const services: NodeService[] = [];

let stopping: Promise<void> | undefined;
function stopAll(code: number): Promise<void> {
  stopping ??= (async () => {
    say('stopping…');
    for (const service of [...services].reverse()) await service.stop();
    await database.stop();
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

try {
  for (const [name, script, port] of [
    ['backend', 'services/backend/dist/server.js', backendPort],
    ['socket server', 'services/socket/dist/main.js', socketPort],
  ] as const) {
    const service = new NodeService({
      name,
      script: join(REPO_ROOT, script),
      env,
      healthUrl: `http://127.0.0.1:${port}/health`,
      detached: true,
    });
    services.push(service);
    await service.start(60_000);
    void service.exited.then((code) => {
      if (stopping === undefined) {
        say(`${name} exited unexpectedly (${String(code)})`);
        void stopAll(1);
      }
    });
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
  `  API docs    ${backendUrl}/docs`,
  '',
  `  backend ${backendUrl} · socket server ws://localhost:${socketPort} · database: ${
    database.kind === 'ferretdb' ? 'FerretDB, data in .data/ferretdb' : database.kind
  }`,
  '  The token above is a development admin token (12 h); snapshots appear on the dashboard a minute after viewers join.',
  '  Press Ctrl-C to stop everything.',
  '',
]) say(line);
