import Fastify from 'fastify';
import { configOrExit, installShutdown } from '@viewer-analytics/shared';
import app, { fastifyOptions } from './app.js';
import { loadConfig } from './config.js';

const config = configOrExit(() => loadConfig());
const server = Fastify(fastifyOptions(config));

// Nothing to save here: a close that hangs (a stuck request) is cut after 10 s.
installShutdown({
  log: server.log,
  close: () => server.close(),
  deadlineMs: 10_000,
  onRepeat: (signal) => {
    server.log.warn({ signal }, 'signal again: still closing (at most 10 s)');
  },
});

// The plugins' start-up (the database connection, its indexes) fails here, the port in listen:
// either way one fatal log line and exit code 1, for the process manager to restart us.
try {
  await server.register(app, { config });
  await server.listen({ host: config.BACKEND_HOST, port: config.BACKEND_PORT });
} catch (err) {
  server.log.fatal({ err }, 'could not start');
  process.exit(1);
}
