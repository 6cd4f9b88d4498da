import { afterEach, describe, expect, it } from 'vitest';
import { fastifyOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { logCollector, TEST_INTERNAL_API_KEY, TEST_JWT_SECRET } from './helper.js';

const config = (NODE_ENV: string) =>
  loadConfig({ NODE_ENV, MONGODB_URI: 'mongodb://127.0.0.1:1/', INTERNAL_API_KEY: TEST_INTERNAL_API_KEY, JWT_SECRET: TEST_JWT_SECRET });

/** The logger options Fastify gets; `logger` is always an options object here, never a boolean. */
const logger = (options: ReturnType<typeof fastifyOptions>) => options.logger as Exclude<typeof options.logger, boolean | undefined>;

describe('where the logs go', () => {
  const tty = process.stdout.isTTY;
  afterEach(() => {
    process.stdout.isTTY = tty;
  });

  it('pretty single lines through pino-pretty in development on a terminal', () => {
    process.stdout.isTTY = true;
    expect(logger(fastifyOptions(config('development')))).toMatchObject({ transport: { target: 'pino-pretty', options: { singleLine: true } } });
  });

  it.each([
    ['development, piped', 'development', false],
    ['production, on a terminal', 'production', true],
    ['test, on a terminal', 'test', true],
  ])('JSON lines on stdout in %s', (_name, env, isTTY) => {
    process.stdout.isTTY = isTTY;
    const options = logger(fastifyOptions(config(env)));
    expect(options).not.toHaveProperty('transport');
    expect(options).not.toHaveProperty('stream');
  });

  it('JSON lines to the destination a test gives, even in development on a terminal', () => {
    process.stdout.isTTY = true;
    const logs = logCollector();
    const options = logger(fastifyOptions(config('development'), logs));
    expect(options).toHaveProperty('stream', logs);
    expect(options).not.toHaveProperty('transport');
  });
});
