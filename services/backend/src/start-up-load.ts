import type { FastifyBaseLogger } from 'fastify';
import { RetryDelay } from './retry-delay.js';

/** What a process loads into memory once at start, in the background. */
export interface StartUpLoad {
  /**
   * Settles once the first attempt ended, loaded or failed: reads that come early wait for it, and
   * after a failure load what they need themselves rather than wait for the retries.
   */
  readonly done: Promise<void>;
  /** Whether an attempt loaded it (for `/ready`: a process that has not stays out of the load balancer). */
  readonly loaded: () => boolean;
  /** Stops retrying and waits for the attempt under way. */
  stop(): Promise<void>;
}

/**
 * Starts `load` (which resolves to the figures to log) and logs `<what> loaded`. A database that
 * goes away during the load (a restart, a failover) must not leave the process without it for
 * good: a failed attempt is logged with what happens meanwhile and tried again until one loads.
 */
export function startUpLoad(log: FastifyBaseLogger, what: string, load: () => Promise<object>, meanwhile: string): StartUpLoad {
  let loaded = false;
  let stopped = false;
  let failures = 0;
  const retry = new RetryDelay();
  let timer: NodeJS.Timeout | undefined;

  const attempt = (): Promise<void> =>
    load().then(
      (figures) => {
        loaded = true;
        log.info(failures === 0 ? figures : { ...figures, failedAttempts: failures }, `${what} loaded`);
      },
      (error: unknown) => {
        failures += 1;
        if (stopped) return;
        log.warn({ err: error, retryInMs: retry.current }, `loading the ${what} failed: ${meanwhile} until it is loaded`);
        timer = setTimeout(() => {
          current = attempt();
        }, retry.current);
        retry.failed();
      },
    );

  let current = attempt();
  return {
    done: current,
    loaded: () => loaded,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // No attempt starts after this: the timer that would start one is cleared.
      await current;
    },
  };
}
