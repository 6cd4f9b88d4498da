import pino, { type Logger } from 'pino';
import type { SocketConfig } from './config.js';

/**
 * JSON lines, except for a person at a terminal in development: one pretty line per entry
 * (pino-pretty, a development dependency, in pino's worker thread).
 */
export function createLogger(config: Pick<SocketConfig, 'LOG_LEVEL' | 'NODE_ENV'>): Logger {
  const options = { level: config.LOG_LEVEL, name: 'socket' };
  if (config.NODE_ENV !== 'development' || !process.stdout.isTTY) return pino(options);
  return pino({
    ...options,
    transport: {
      target: 'pino-pretty',
      options: { singleLine: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    },
  });
}
