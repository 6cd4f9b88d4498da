import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/** Who publishes a process's counts: the same id across restarts, a greater epoch each start. */
export interface ProcessIdentity {
  readonly processId: string;
  readonly epoch: number;
}

/**
 * A process id that survives restarts when a supervisor names its slot (e.g. "host-a:2"), so that
 * a restarted process replaces its predecessor's counts. Without one, hostname and pid: unique,
 * but a restart is then a new process and its predecessor's counts last until they expire.
 */
export function processIdOf(configured: string | undefined): string {
  if (configured !== undefined && configured !== '') return configured;
  return `${hostname()}:${String(process.pid)}`;
}

// The next epoch, but never below the current second: a Redis restarted empty forgets the counter,
// and a process starting then must still get an epoch greater than its predecessor's (which the
// others remember, and whose messages they would otherwise prefer for seconds).
const CLAIM = `local epoch = redis.call('incr', KEYS[1]) if epoch < tonumber(ARGV[1]) then epoch = tonumber(ARGV[1]) redis.call('set', KEYS[1], epoch) end return epoch`;

/** Takes the next epoch of `processId`: the script is atomic, so two starts never get the same one. */
export async function claimIdentity(redis: Redis, prefix: string, processId: string): Promise<ProcessIdentity> {
  const epoch = Number(await redis.eval(CLAIM, 1, `${prefix}epoch:${processId}`, Math.floor(Date.now() / 1000)));
  return { processId, epoch };
}
