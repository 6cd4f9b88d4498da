import type { Redis } from 'ioredis';
import type { AuctionSlots } from '../auctions/auction-slots.js';
import type { WindowVisitors } from '../visitors/window-visitors.js';
import { RAW_ID_LENGTH, writeRawId, type AuctionIdIndex } from './auction-ids.js';
import { everyMark, type MarkTimer } from './wall-clock-marks.js';

/**
 * One message per process and tick on `<prefix>visitors`, little-endian: processId length u8,
 * processId (latin1), then entries of (window start f64 ms, auction id 12 raw bytes, visitor key u32).
 */
const ENTRY_LENGTH = 8 + RAW_ID_LENGTH + 4;
/** Entries per message at most (64 KiB): a window's carried-over visitors go out in several. */
const ENTRIES_PER_MESSAGE = 2_730;
/** Entries waiting at most (a tick of joins, or a window's carry-over): beyond it they are dropped and counted. */
const MAX_PENDING_ENTRIES = 1 << 20;

export interface SharedVisitorsOptions {
  readonly slots: AuctionSlots;
  readonly visitors: WindowVisitors;
  /** The sampler's open window (its start), or -1 before the first sample. */
  readonly openWindow: () => number;
  readonly windowMs: number;
  readonly commands: Redis;
  readonly subscriber: Redis;
  readonly prefix: string;
  readonly processId: string;
  /** Auction ids on the wire → this process's slots: the cluster counts' index, shared. */
  readonly ids: AuctionIdIndex;
  /** The broadcast interval: entries go out on its wall-clock marks. */
  readonly intervalMs: number;
  readonly log: (message: string) => void;
}

/** Plain numbers the metrics and tests read. */
export interface SharedVisitorsStats {
  entriesPublished: number;
  entriesReceived: number;
  /** Received for a window this process had closed already: not counted (see docs/scaling.md). */
  entriesLate: number;
  /** Not published: Redis was away, or too many waited. */
  entriesLost: number;
}

/**
 * Makes every process's sketch of a window the cluster's: each visitor key that changed one of
 * this process's window sketches is published (window, auction, key) on the next broadcast mark,
 * and every key another process published is added to this process's sketch of that window. So
 * whichever process delivers a window, its uniques count the whole cluster's visitors (keys are
 * comparable because the salt is the cluster's, see shared-salt.ts).
 *
 * Pub/sub is at-most-once and nothing is replayed: an entry lost (Redis away) or arriving after its
 * window closed here is not counted in that window. Every window starts with every connected
 * viewer's key again (WindowVisitors carries them over, and they are published), so a visitor
 * still connected counts in the next window whatever was lost.
 */
export class SharedVisitors {
  readonly stats: SharedVisitorsStats = { entriesPublished: 0, entriesReceived: 0, entriesLate: 0, entriesLost: 0 };
  private readonly channel: string;
  private readonly channelBytes: Buffer;
  private readonly header: number;
  private pending: Buffer;
  private pendingEntries = 0;
  /** Received entries of a window this process has not opened yet (its sampler is a few ms behind). */
  private readonly aheadWindow: number[] = [];
  private readonly aheadSlot: number[] = [];
  private readonly aheadKey: number[] = [];
  private marks: MarkTimer | undefined;
  private failing = false;

  constructor(private readonly options: SharedVisitorsOptions) {
    this.channel = `${options.prefix}visitors`;
    this.channelBytes = Buffer.from(this.channel);
    this.header = 1 + Buffer.byteLength(options.processId, 'latin1');
    this.pending = Buffer.allocUnsafe(this.header + ENTRY_LENGTH * 1024);
    this.pending[0] = this.header - 1;
    this.pending.write(options.processId, 1, 'latin1');
  }

  async start(): Promise<void> {
    const { subscriber, visitors, intervalMs } = this.options;
    visitors.onChange = this.onChange;
    subscriber.on('messageBuffer', this.onMessage);
    // Queued until the subscriber connects; ioredis subscribes again after every reconnect.
    await subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.options.log(`visitors channel not subscribed yet (${describe(error)})`);
    });
    this.marks = everyMark(intervalMs, 0, this.publish);
  }

  stop(): void {
    this.marks?.stop();
    this.options.visitors.onChange = undefined;
    this.options.subscriber.off('messageBuffer', this.onMessage);
  }

  /** The sampler opened a window: entries received ahead for it count now, older ones are late. */
  windowOpened(): void {
    const open = this.options.openWindow();
    let kept = 0;
    for (let i = 0; i < this.aheadWindow.length; i++) {
      const window = this.aheadWindow[i]!;
      if (window === open) this.options.visitors.addShared(this.aheadSlot[i]!, this.aheadKey[i]!);
      else if (window < open) this.stats.entriesLate++;
      else {
        this.aheadWindow[kept] = window;
        this.aheadSlot[kept] = this.aheadSlot[i]!;
        this.aheadKey[kept] = this.aheadKey[i]!;
        kept++;
      }
    }
    this.aheadWindow.length = kept;
    this.aheadSlot.length = kept;
    this.aheadKey.length = kept;
  }

  /** A key changed one of this process's sketches: it goes out with the next mark. */
  private readonly onChange = (slot: number, key: number): void => {
    if (this.pendingEntries >= MAX_PENDING_ENTRIES) {
      this.stats.entriesLost++;
      return;
    }
    let at = this.header + this.pendingEntries * ENTRY_LENGTH;
    if (at + ENTRY_LENGTH > this.pending.length) this.growPending();
    // During a window's carry-over the sampler names the window just opened; before its first sample, the clock does.
    const open = this.options.openWindow();
    const now = Date.now();
    const window = open >= 0 ? open : now - (now % this.options.windowMs);
    at = this.pending.writeDoubleLE(window, at);
    writeRawId(this.options.slots, slot, this.pending, at);
    this.pending.writeUInt32LE(key >>> 0, at + RAW_ID_LENGTH);
    this.pendingEntries++;
  };

  private growPending(): void {
    const grown = Buffer.allocUnsafe(this.pending.length * 2);
    this.pending.copy(grown, 0, 0, this.header + this.pendingEntries * ENTRY_LENGTH);
    this.pending = grown;
  }

  private readonly publish = (): void => {
    const entries = this.pendingEntries;
    if (entries === 0) return;
    this.pendingEntries = 0;
    const { commands } = this.options;
    if (commands.status !== 'ready') {
      this.lost(entries, 'Redis unavailable');
      return;
    }
    for (let first = 0; first < entries; first += ENTRIES_PER_MESSAGE) {
      const count = Math.min(ENTRIES_PER_MESSAGE, entries - first);
      // A copy (header, then this message's entries): ioredis may still hold it while the next tick writes.
      const message = Buffer.allocUnsafe(this.header + count * ENTRY_LENGTH);
      this.pending.copy(message, 0, 0, this.header);
      this.pending.copy(message, this.header, this.header + first * ENTRY_LENGTH, this.header + (first + count) * ENTRY_LENGTH);
      commands.publish(this.channel, message).then(
        () => {
          this.stats.entriesPublished += count;
          if (this.failing) this.options.log('visitor keys published through Redis again');
          this.failing = false;
        },
        (error: unknown) => {
          this.lost(count, describe(error));
        },
      );
    }
  };

  private lost(entries: number, why: string): void {
    this.stats.entriesLost += entries;
    if (!this.failing) this.options.log(`visitor keys not shared with the cluster (${why}): unique viewers undercount until Redis answers`);
    this.failing = true;
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (!channel.equals(this.channelBytes) || message.length < 1) return;
    const entriesAt = 1 + message[0]!;
    if (message.length < entriesAt || (message.length - entriesAt) % ENTRY_LENGTH !== 0) return;
    // Its own entries are in its sketches already.
    if (entriesAt === this.header && message.compare(this.pending, 1, this.header, 1, this.header) === 0) return;
    const open = this.options.openWindow();
    const { visitors } = this.options;
    for (let at = entriesAt; at < message.length; at += ENTRY_LENGTH) {
      this.stats.entriesReceived++;
      const window = message.readDoubleLE(at);
      if (open >= 0 && window < open) {
        this.stats.entriesLate++;
        continue;
      }
      const slot = this.options.ids.slotFor(message, at + 8);
      if (slot < 0) continue;
      const key = message.readUInt32LE(at + 8 + RAW_ID_LENGTH);
      if (open < 0 || window === open) visitors.addShared(slot, key);
      else if (this.aheadWindow.length >= MAX_PENDING_ENTRIES) this.stats.entriesLost++;
      else {
        this.aheadWindow.push(window);
        this.aheadSlot.push(slot);
        this.aheadKey.push(key);
      }
    }
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
