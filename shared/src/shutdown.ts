/** What the helper logs through (pino and Fastify's logger fit). */
export interface ShutdownLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ShutdownOptions {
  readonly log: ShutdownLog;
  /** Closes the service; runs once, on the first signal or uncaught error. */
  readonly close: () => Promise<void>;
  /** A signal while closing (e.g. cut a delivery short, log it); closing goes on either way. */
  readonly onRepeat?: (signal: string) => void;
  /**
   * Exit 1 when closing takes longer than this (ms). Only for services with nothing to save:
   * a deadline could cut a save short.
   */
  readonly deadlineMs?: number;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Closes the service on SIGINT, SIGTERM or SIGHUP, and on an uncaught exception or unhandled
 * rejection (logged); then exits 0, or 1 after an error or a failed close. Unlike close-with-grace, a
 * second signal never exits early: it only calls `onRepeat`, so what the close saves is saved.
 */
export function installShutdown(options: ShutdownOptions): void {
  const { log } = options;
  let closing = false;
  let failed = false;
  const close = (): void => {
    closing = true;
    if (options.deadlineMs !== undefined) {
      const deadlineMs = options.deadlineMs;
      setTimeout(() => {
        log.error({ deadlineMs }, 'closing took too long: exiting');
        process.exit(1);
      }, deadlineMs).unref();
    }
    options.close().then(
      () => process.exit(failed ? 1 : 0),
      (err: unknown) => {
        log.error({ err }, 'closing failed');
        process.exit(1);
      },
    );
  };

  for (const signal of SIGNALS) {
    // Listening replaces the default action (exit at once) for every signal, not just the first.
    process.on(signal, () => {
      if (!closing) {
        log.info({ signal }, 'shutting down gracefully');
        close();
      } else if (options.onRepeat !== undefined) options.onRepeat(signal);
      else log.info({ signal }, 'signal again: still closing');
    });
  }
  const onError = (err: unknown): void => {
    failed = true;
    log.error({ err }, closing ? 'unexpected error while closing' : 'closing after an unexpected error');
    if (!closing) close();
  };
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
}
