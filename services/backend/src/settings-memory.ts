import { MongoServerError, type Collection, type ObjectId } from 'mongodb';
import { DUPLICATE_KEY, onlyDuplicateKeys } from './database-errors.js';
import { RetryDelay } from './retry-delay.js';

/**
 * The settings change log: `{_id: 'n', auction, at}` is the n-th change of an auction's setting,
 * numbered from 1 without gaps (n is written only once n - 1 exists), beside one `{_id: 'head',
 * value}`, a hint of a recent n that spares a starting process reading the whole log.
 * Insert and whole-document replace only: FerretDB 1.x loses concurrent `$inc` of one document.
 * The number is written as a string: FerretDB 1.x finds only string and ObjectId `_id`s by index,
 * and scans the collection for a number.
 */
export type SettingsLogDocument = { _id: string; auction: ObjectId; at: Date } | { _id: typeof HEAD_ID; value: number };

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

const HEAD_ID = 'head';
const changeId = (n: number): string => String(n);
/** Changes read at once when a process is behind: the first read is one, then up to this many. */
const MAX_READ_AHEAD = 64;
/** Changes appended in one insert at most. */
const MAX_APPENDED_AT_ONCE = 500;

interface WaitingChange {
  readonly auction: ObjectId;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}
const nobody = (): void => undefined;

/**
 * Each auction's `enableViewerAnalytics`, remembered, and exact on every backend instance: a
 * change updates its auction, then appends to the log before its route replies; a reader first
 * reads the log from the last change it applied (one read by `_id` when nothing changed) and
 * forgets the auctions it names. A setting read from the database is remembered only if no change
 * was applied meanwhile, since that change may have been forgotten before the setting arrived.
 */
export class SettingsMemory {
  /** Every change up to this one has been applied. */
  private head = 0;
  private readonly settings = new Map<string, boolean>();
  /** Changes waiting for the append under way to end. */
  private readonly waiting: WaitingChange[] = [];
  private appending = false;
  /** Changes made whose append failed: appended again after a pause, until it succeeds. */
  private readonly unlogged: ObjectId[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly retry = new RetryDelay();
  private stopped = false;

  constructor(
    private readonly log: Collection<SettingsLogDocument>,
    private readonly guard: Guard,
    private readonly maxRemembered: number,
    private readonly onAppendFailed: (changes: number, retryInMs: number, error: unknown) => void = nobody,
  ) {}

  get size(): number {
    return this.settings.size;
  }

  get(hexId: string): boolean | undefined {
    return this.settings.get(hexId);
  }

  /** The last change applied: pass it back to `remember` with what was read after it. */
  get applied(): number {
    return this.head;
  }

  /** Kept only if no change was applied since `head`; the one remembered longest goes when full. */
  remember(head: number, hexId: string, enabled: boolean): void {
    if (head !== this.head) return;
    this.settings.set(hexId, enabled);
    if (this.settings.size > this.maxRemembered) {
      const oldest = this.settings.keys().next();
      if (oldest.done !== true) this.settings.delete(oldest.value);
    }
  }

  /** Goes on from the head hint rather than read the whole log, forgetting everything remembered so far. */
  async start(): Promise<number> {
    const hint = await this.guard(() => this.log.findOne({ _id: HEAD_ID }));
    if (hint !== null && 'value' in hint && hint.value > this.head) {
      this.settings.clear();
      this.head = hint.value;
    }
    return this.catchUp();
  }

  /**
   * Applies every change appended before this call began (and maybe some after) and returns the
   * last one applied. Concurrent calls share the work: each applies only the next change in order.
   */
  async catchUp(): Promise<number> {
    let ahead = 1;
    for (;;) {
      const from = this.head + 1;
      const ids = Array.from({ length: ahead }, (_, i) => changeId(from + i));
      const found = await Promise.all(ids.map((_id) => this.guard(() => this.log.findOne({ _id }))));
      for (const [i, change] of found.entries()) {
        // A change not there yet: nothing appended before the call began is after it, as the log has no gaps.
        if (change === null) return this.head;
        if (from + i === this.head + 1 && 'auction' in change) {
          this.settings.delete(change.auction.toHexString());
          this.head = from + i;
        }
      }
      ahead = Math.min(ahead * 4, MAX_READ_AHEAD);
    }
  }

  /**
   * Records a change of `auction`'s setting, made before this call; readers that start after it
   * returns see it. Changes that come while an append is under way go together in the next one,
   * numbered in a row by one ordered insert: concurrent appends would race for the same number
   * (130 at once took 19 s), and one at a time each would cost three round trips.
   * When the append fails the change is made already (its caller answers an error), and readers
   * that do not hear of it would keep the earlier setting for good: it is appended again after a
   * pause, until it is in the log.
   */
  append(auction: ObjectId): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ auction, resolve, reject });
      if (!this.appending) void this.appendWaiting();
    });
  }

  /** Stops trying failed appends again, after a last try; resolves to how many changes are left out of the log. */
  async stop(): Promise<number> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.allSettled(this.unlogged.splice(0).map((auction) => this.append(auction)));
    return this.unlogged.length;
  }

  private async appendWaiting(): Promise<void> {
    this.appending = true;
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0, MAX_APPENDED_AT_ONCE);
      const auctions = group.map(({ auction }) => auction);
      try {
        await this.appendInRow(auctions);
        for (const { resolve } of group) resolve();
      } catch (error) {
        for (const { reject } of group) reject(error);
        this.retryLater(auctions, error);
      }
    }
    this.appending = false;
  }

  private retryLater(auctions: readonly ObjectId[], error: unknown): void {
    this.unlogged.push(...auctions);
    if (this.stopped) return;
    this.onAppendFailed(this.unlogged.length, this.retry.current, error);
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const again = this.unlogged.splice(0);
      // Nobody waits for these: their callers were answered when the first try failed.
      const appended = (): void => {
        this.retry.succeeded();
      };
      this.waiting.push(...again.map((auction) => ({ auction, resolve: appended, reject: nobody })));
      if (!this.appending) void this.appendWaiting();
    }, this.retry.current);
    this.retry.failed();
  }

  /** The changes as the next numbers, in order; from where another instance stopped them, after its numbers. */
  private async appendInRow(auctions: readonly ObjectId[]): Promise<void> {
    let rest = auctions;
    let last = 0;
    while (rest.length > 0) {
      const next = (await this.catchUp()) + 1;
      const at = new Date();
      try {
        // Ordered: a number is written only after the one before it.
        await this.guard(() => this.log.insertMany(rest.map((auction, i) => ({ _id: changeId(next + i), auction, at })), { ordered: true }));
        last = next + rest.length - 1;
        rest = [];
      } catch (error) {
        // Another instance took a number first: the ones before it are written; read it, then go on after it.
        if (!onlyDuplicateKeys(error)) throw error;
        if (error.insertedCount > 0) last = next + error.insertedCount - 1;
        rest = rest.slice(error.insertedCount);
      }
    }
    await this.hint(last);
  }

  /** Only a hint (two writers may leave the lower number): a reader goes on from it until a change is missing. */
  private async hint(value: number): Promise<void> {
    try {
      await this.guard(() => this.log.replaceOne({ _id: HEAD_ID }, { value }, { upsert: true }));
    } catch (error) {
      // Two first hints at once: one lost the insert, the other wrote one.
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
    }
  }
}
