import { MongoServerError, type Collection, type ObjectId, type WithId } from 'mongodb';
import { DUPLICATE_KEY, onlyDuplicateKeys } from './database-errors.js';
import { RetryDelay } from './retry-delay.js';

/**
 * The settings change log: `{_id: 'n', auction, at}` is the n-th change of an auction's setting,
 * numbered from 1 without gaps (n is written only once n - 1 exists). A change is announced
 * before it is made (`upcoming: true`) and logged once made (`settles`: its announcement's number).
 * Beside them one `{_id: 'head', value}`, a hint of a recent n that spares a starting process
 * reading the whole log. Insert and whole-document replace only: FerretDB 1.x loses concurrent
 * `$inc` of one document. The number is written as a string: FerretDB 1.x finds only string and
 * ObjectId `_id`s by index, and scans the collection for a number.
 */
export type SettingsLogDocument =
  | { _id: string; auction: ObjectId; at: Date; upcoming?: true; settles?: number }
  | { _id: typeof HEAD_ID; value: number };
type ChangeDocument = Extract<SettingsLogDocument, { auction: ObjectId }>;

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

const HEAD_ID = 'head';
const changeId = (n: number): string => String(n);
/** Changes read at once when a process is behind: the first read is one, then up to this many. */
const MAX_READ_AHEAD = 64;
/** Changes appended in one insert at most. */
const MAX_APPENDED_AT_ONCE = 500;
/**
 * How long a reader takes an announced auction's setting from the database when the change is
 * not logged, counted on its own clock from when it read the announcement: far longer than a
 * change takes to be made once announced, so that a change whose process died before logging it
 * still reaches every reader.
 */
export const UPCOMING_CHANGE_MS = 5 * 60_000;
/** How far other processes' clocks may be off, for a starting process that looks back for announcements by their time. */
const CLOCK_SKEW_MS = 60_000;

export interface SettingsMemoryOptions {
  /** Auctions whose setting is remembered at most; the one remembered longest goes first. */
  readonly maxRemembered: number;
  readonly onAppendFailed?: (changes: number, retryInMs: number, error: unknown) => void;
  /** UPCOMING_CHANGE_MS unless a test wants it shorter. */
  readonly upcomingMs?: number;
}

/** An entry to append: an announcement, or a change made (settling its announcement, if any). */
interface Entry {
  readonly auction: ObjectId;
  readonly upcoming: boolean;
  readonly settles: number | undefined;
}

interface WaitingEntry extends Entry {
  /** With the entry's number in the log. */
  readonly resolve: (n: number) => void;
  readonly reject: (error: unknown) => void;
}
const nobody = (): void => undefined;

/**
 * Each auction's `enableViewerAnalytics`, remembered, and exact on every backend instance: a
 * change is announced in the log, made in its auction, then logged before its route replies; a
 * reader first reads the log from the last entry it applied (one read by `_id` when nothing
 * changed) and forgets the auctions it names, and remembers none whose announced change it has
 * not seen logged (for `upcomingMs` at most), so that a change whose process died before logging
 * it still reaches every reader. A setting read from the database is remembered only if no entry
 * was applied meanwhile, since that entry may have been applied before the setting arrived.
 */
export class SettingsMemory {
  /** Every entry up to this one has been applied. */
  private head = 0;
  private readonly settings = new Map<string, boolean>();
  /** Announcements read and not yet settled, by number, with their auction and when they lapse (`performance.now()`); oldest read first. */
  private readonly announcements = new Map<number, { readonly hexId: string; readonly lapsesAt: number }>();
  /** How many of `announcements` each auction has. */
  private readonly announcedAuctions = new Map<string, number>();
  /** Entries waiting for the append under way to end. */
  private readonly waiting: WaitingEntry[] = [];
  private appending = false;
  /** Changes made whose append failed: appended again after a pause, until it succeeds. */
  private readonly unlogged: Entry[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly retry = new RetryDelay();
  private stopped = false;
  private readonly maxRemembered: number;
  private readonly onAppendFailed: (changes: number, retryInMs: number, error: unknown) => void;
  private readonly upcomingMs: number;

  constructor(
    private readonly log: Collection<SettingsLogDocument>,
    private readonly guard: Guard,
    { maxRemembered, onAppendFailed = nobody, upcomingMs = UPCOMING_CHANGE_MS }: SettingsMemoryOptions,
  ) {
    this.maxRemembered = maxRemembered;
    this.onAppendFailed = onAppendFailed;
    this.upcomingMs = upcomingMs;
  }

  get size(): number {
    return this.settings.size;
  }

  get(hexId: string): boolean | undefined {
    return this.settings.get(hexId);
  }

  /** The last entry applied: pass it back to `remember` with what was read after it. */
  get applied(): number {
    return this.head;
  }

  /** Kept only if no entry was applied since `head` and no change of it is announced; the one remembered longest goes when full. */
  remember(head: number, hexId: string, enabled: boolean): void {
    if (head !== this.head || this.announced(hexId)) return;
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
      await this.lookBackForAnnouncements(hint.value);
    }
    return this.catchUp();
  }

  /**
   * Applies every entry appended before this call began (and maybe some after) and returns the
   * last one applied. Concurrent calls share the work: each applies only the next entry in order.
   */
  async catchUp(): Promise<number> {
    let ahead = 1;
    for (;;) {
      const from = this.head + 1;
      const found = await this.readEntries(Array.from({ length: ahead }, (_, i) => from + i));
      for (const [i, entry] of found.entries()) {
        // An entry not there yet: nothing appended before the call began is after it, as the log has no gaps.
        if (entry === null) return this.head;
        if (from + i === this.head + 1 && 'auction' in entry) {
          this.settings.delete(entry.auction.toHexString());
          this.note(from + i, entry);
          this.head = from + i;
        }
      }
      ahead = Math.min(ahead * 4, MAX_READ_AHEAD);
    }
  }

  /**
   * Announces a change of `auction`'s setting, to be made once this resolves (to the
   * announcement's number, for `append`). Not tried again when it fails: the change must not be made then.
   */
  upcoming(auction: ObjectId): Promise<number> {
    return this.enqueue({ auction, upcoming: true, settles: undefined });
  }

  /**
   * Logs a change of `auction`'s setting, made before this call, settling its announcement;
   * readers that start after it returns see it. Entries that come while an append is under way
   * go together in the next one, numbered in a row by one ordered insert: concurrent appends
   * would race for the same number (130 at once took 19 s), and one at a time each would cost
   * three round trips. When the append fails the change is made already (its caller answers an
   * error), and readers whose memory of the announcement lapses would keep the earlier setting
   * for good: it is appended again after a pause, until it is in the log.
   */
  async append(auction: ObjectId, announcement: number): Promise<void> {
    await this.enqueue({ auction, upcoming: false, settles: announcement });
  }

  /** Stops trying failed appends again, after a last try; resolves to how many changes are left out of the log. */
  async stop(): Promise<number> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.allSettled(this.unlogged.splice(0).map((entry) => this.enqueue(entry)));
    return this.unlogged.length;
  }

  /** What a reader learns from the n-th entry besides forgetting its auction: an announcement made or settled. */
  private note(n: number, { auction, upcoming, settles }: ChangeDocument): void {
    if (settles !== undefined) this.settle(settles);
    if (upcoming !== true) return;
    const hexId = auction.toHexString();
    // Lapsed ones go here too, so that a process that remembers nothing does not keep them all.
    this.lapse();
    this.announcements.set(n, { hexId, lapsesAt: performance.now() + this.upcomingMs });
    this.announcedAuctions.set(hexId, (this.announcedAuctions.get(hexId) ?? 0) + 1);
  }

  private settle(announcement: number): void {
    const settled = this.announcements.get(announcement);
    if (settled === undefined) return;
    this.announcements.delete(announcement);
    const left = (this.announcedAuctions.get(settled.hexId) ?? 1) - 1;
    if (left > 0) this.announcedAuctions.set(settled.hexId, left);
    else this.announcedAuctions.delete(settled.hexId);
  }

  /** Whether a change of the auction is announced and not settled. */
  private announced(hexId: string): boolean {
    this.lapse();
    return this.announcedAuctions.has(hexId);
  }

  /** Forgets the announcements read more than `upcomingMs` ago. */
  private lapse(): void {
    const now = performance.now();
    for (const [n, { lapsesAt }] of this.announcements) {
      if (lapsesAt > now) break;
      this.settle(n);
    }
  }

  /**
   * Announcements up to `last` (which catching up from it skips) made within `upcomingMs` by their
   * writers' clocks and not settled by a later entry up to `last`: their changes may not be made yet.
   */
  private async lookBackForAnnouncements(last: number): Promise<void> {
    const since = Date.now() - this.upcomingMs - CLOCK_SKEW_MS;
    const settled = new Set<number>();
    let next = last;
    let behind = 1;
    while (next >= 1) {
      const found = await this.readEntries(Array.from({ length: Math.min(behind, next) }, (_, i) => next - i));
      for (const [i, entry] of found.entries()) {
        if (entry === null || !('auction' in entry) || entry.at.getTime() < since) return;
        const n = next - i;
        if (entry.settles !== undefined) settled.add(entry.settles);
        if (entry.upcoming === true && !settled.has(n)) this.note(n, entry);
      }
      next -= found.length;
      behind = Math.min(behind * 4, MAX_READ_AHEAD);
    }
  }

  /** The entries numbered `numbers`, in that order (null where there is none yet), read by `_id` all at once. */
  private readEntries(numbers: readonly number[]): Promise<(WithId<SettingsLogDocument> | null)[]> {
    return Promise.all(numbers.map((n) => this.guard(() => this.log.findOne({ _id: changeId(n) }))));
  }

  private enqueue(entry: Entry): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ...entry, resolve, reject });
      if (!this.appending) void this.appendWaiting();
    });
  }

  private async appendWaiting(): Promise<void> {
    this.appending = true;
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0, MAX_APPENDED_AT_ONCE);
      try {
        const numbers = await this.appendInRow(group);
        for (const [i, { resolve }] of group.entries()) resolve(numbers[i] ?? 0);
      } catch (error) {
        for (const { reject } of group) reject(error);
        const made = group.filter(({ upcoming }) => !upcoming);
        if (made.length > 0) this.retryLater(made, error);
      }
    }
    this.appending = false;
  }

  private retryLater(entries: readonly Entry[], error: unknown): void {
    this.unlogged.push(...entries.map(({ auction, upcoming, settles }) => ({ auction, upcoming, settles })));
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
      this.waiting.push(...again.map((entry) => ({ ...entry, resolve: appended, reject: nobody })));
      if (!this.appending) void this.appendWaiting();
    }, this.retry.current);
    this.retry.failed();
  }

  /** The entries as the next numbers, in order, from where another instance stopped them, after its numbers; resolves to their numbers. */
  private async appendInRow(entries: readonly Entry[]): Promise<number[]> {
    const numbers: number[] = [];
    let rest = entries;
    while (rest.length > 0) {
      const next = (await this.catchUp()) + 1;
      const at = new Date();
      const documents = rest.map(({ auction, upcoming, settles }, i) => ({
        _id: changeId(next + i),
        auction,
        at,
        ...(upcoming ? { upcoming: true as const } : {}),
        ...(settles === undefined ? {} : { settles }),
      }));
      try {
        // Ordered: a number is written only after the one before it.
        await this.guard(() => this.log.insertMany(documents, { ordered: true }));
        numbers.push(...rest.map((_, i) => next + i));
        rest = [];
      } catch (error) {
        // Another instance took a number first: the ones before it are written; read it, then go on after it.
        if (!onlyDuplicateKeys(error)) throw error;
        numbers.push(...rest.slice(0, error.insertedCount).map((_, i) => next + i));
        rest = rest.slice(error.insertedCount);
      }
    }
    // An announcement alone moves no hint: its change's entry follows within the request, and a
    // reader catches up past the hint anyway. So a settings change writes the hint once, not twice.
    if (entries.some(({ upcoming }) => !upcoming)) await this.hint(numbers.at(-1) ?? 0);
    return numbers;
  }

  /** Only a hint (two writers may leave the lower number): a reader goes on from it until an entry is missing. */
  private async hint(value: number): Promise<void> {
    try {
      await this.guard(() => this.log.replaceOne({ _id: HEAD_ID }, { value }, { upsert: true }));
    } catch (error) {
      // Two first hints at once: one lost the insert, the other wrote one.
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
    }
  }
}
