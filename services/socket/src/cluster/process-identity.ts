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

/** Takes the next epoch of `processId`: INCR is atomic, so two starts never get the same one. */
export async function claimIdentity(redis: Redis, prefix: string, processId: string): Promise<ProcessIdentity> {
  const epoch = await redis.incr(`${prefix}epoch:${processId}`);
  return { processId, epoch };
}
