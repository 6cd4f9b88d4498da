/**
 * How many socket processes `npm start` runs (SOCKET_PROCESSES) and what sets one slot's process
 * apart from the others: its process id in the cluster and its outbox file.
 */
import { basename, dirname, extname, join } from 'node:path';

export const MAX_SOCKET_PROCESSES = 64;

/**
 * SOCKET_PROCESSES read from `env`: 1 when unset or empty. More than one process share the public
 * port, so a port of 0 ("any free one": a different one each) is refused with them.
 */
export function socketProcessCount(env: NodeJS.ProcessEnv): number {
  const value = (env['SOCKET_PROCESSES'] ?? '').trim();
  if (value === '') return 1;
  const count = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(count >= 1 && count <= MAX_SOCKET_PROCESSES)) {
    throw new Error(`SOCKET_PROCESSES must be an integer from 1 to ${String(MAX_SOCKET_PROCESSES)} (it is "${value}")`);
  }
  if (count > 1 && env['SOCKET_PORT'] !== undefined && Number(env['SOCKET_PORT']) === 0) {
    throw new Error('SOCKET_PROCESSES above 1 needs a fixed SOCKET_PORT (not 0): the processes share one port');
  }
  return count;
}

/** `.data/socket-outbox.bin` → `.data/socket-outbox-2.bin`: the file is locked by one process. */
export function slotOutboxFile(outboxFile: string, slot: number): string {
  const extension = extname(outboxFile);
  return join(dirname(outboxFile), `${basename(outboxFile, extension)}-${String(slot)}${extension}`);
}

/**
 * The environment of slot `slot` (1-based). Its process id names the slot, not the pid, so that a
 * restarted process replaces its predecessor's counts at once instead of after 10 s of silence.
 */
export function slotEnv(env: NodeJS.ProcessEnv, slot: number, host: string, redisUrl: string, outboxFile: string): NodeJS.ProcessEnv {
  return {
    ...env,
    REDIS_URL: redisUrl,
    SOCKET_PROCESS_ID: `${host}:${String(slot)}`,
    OUTBOX_FILE: slotOutboxFile(outboxFile, slot),
  };
}
