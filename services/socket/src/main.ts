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

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
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
