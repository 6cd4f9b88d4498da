import pino from 'pino';
import { configOrExit } from '@viewer-analytics/shared';
import { loadConfig } from './config.js';
import { startSocketServer } from './socket-server.js';
import { assertNativeUws } from './uws.js';

const config = configOrExit(() => loadConfig());
const log = pino({ level: config.LOG_LEVEL, name: 'socket' });

try {
  assertNativeUws();
} catch (err) {
  log.fatal({ err }, 'refusing to start');
  process.exit(1);
}

const server = await startSocketServer(config, log).catch((err: unknown) => {
  log.fatal({ err }, 'could not start');
  process.exit(1);
});
log.info({ port: server.port }, 'socket server listening');

// Every signal is handled for the whole shutdown: the default action of a second Ctrl-C would
// kill the process before the partial window is saved. A second one cuts delivery short instead.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      log.warn({ signal }, 'signal again: cutting delivery short; undelivered snapshots stay in the outbox file');
      server.hurry();
      return;
    }
    stopping = true;
    log.info({ signal }, 'shutting down gracefully');
    server.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
