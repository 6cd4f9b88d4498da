import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import { ConfigError } from '@viewer-analytics/shared';
import app, { fastifyOptions } from './app.js';
import { loadConfig, type BackendConfig } from './config.js';

function configOrExit(): BackendConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

const config = configOrExit();
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
