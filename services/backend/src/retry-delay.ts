/** The first pause before trying again what failed on the database. */
export const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** The pause before trying again: 1 s, doubling with each failure in a row up to 30 s while the database stays away. */
export class RetryDelay {
  private ms = RETRY_FIRST_MS;

  /** The pause before the next try. */
  get current(): number {
    return this.ms;
  }

  /** A try failed: the pause after the next one is twice as long. */
  failed(): void {
    this.ms = Math.min(this.ms * 2, RETRY_MAX_MS);
  }

  /** A try succeeded: a later failure starts again from the first pause. */
  succeeded(): void {
    this.ms = RETRY_FIRST_MS;
  }
}
