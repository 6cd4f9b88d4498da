import type { FastifyBaseLogger } from 'fastify';

/** What a process loads into memory once at start, in the background. */
export interface StartUpLoad {
  /** Settles once the load ended, loaded or failed: reads that come early wait for it. */
  readonly done: Promise<void>;
  /** Whether it ended (for `/ready`). A failed load counts: reads then load what they need. */
  readonly ended: () => boolean;
}

/**
 * Starts `load` (which resolves to the figures to log) and logs `<what> loaded`, or its failure
 * and what happens instead.
 */
export function startUpLoad(log: FastifyBaseLogger, what: string, load: () => Promise<object>, otherwise: string): StartUpLoad {
  let ended = false;
  const done = load().then(
    (loaded) => {
      ended = true;
      log.info(loaded, `${what} loaded`);
    },
    (error: unknown) => {
      ended = true;
      log.warn({ err: error }, `loading the ${what} at start failed: ${otherwise}`);
    },
  );
  return { done, ended: () => ended };
}
