import { configOrExit, installShutdown } from '@viewer-analytics/shared';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startSocketServer } from './socket-server.js';
import { assertNativeUws } from './uws.js';

const config = configOrExit(() => loadConfig());
const log = createLogger(config);

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

// No deadline: the partial window is saved before delivery gets its time. A second signal cuts
// the delivery short, never the save.
installShutdown({
  log,
  close: () => server.shutdown(),
  onRepeat: (signal) => {
    log.warn({ signal }, 'signal again: cutting delivery short; undelivered snapshots stay in the outbox file');
    server.hurry();
  },
});
