import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import { configOrExit } from '@viewer-analytics/shared';
import app, { fastifyOptions } from './app.js';
import { loadConfig } from './config.js';

const config = configOrExit(() => loadConfig());
const server = Fastify(fastifyOptions(config));
await server.register(app, { config });

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err !== undefined) server.log.error({ err }, 'closing after an unexpected error');
  else server.log.info({ signal }, 'shutting down gracefully');
  await server.close();
});

try {
  await server.listen({ host: config.BACKEND_HOST, port: config.BACKEND_PORT });
} catch (err) {
  server.log.fatal({ err }, 'could not start');
  process.exit(1);
}
