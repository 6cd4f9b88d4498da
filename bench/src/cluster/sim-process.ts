/**
 * One simulated socket process: on every wall-clock mark it sends what ClusterCounts sends (one
 * MULTI: HSET of epoch, seq and its changed counts, HDEL of counts back to zero, PEXPIRE,
 * PUBLISH of the binary count message, EXEC) over a commands connection of its own, and it
 * hears every message on a subscriber connection of its own, as a real process does.
 */
import { performance } from 'node:perf_hooks';
import { Samples } from '../lib/stats.js';
import { RespError, type RespArg, type RespClient } from '../lib/resp.js';
import { AuctionSlots, CountMessageReader, CountMessageWriter, MessageKind } from '@viewer-analytics/socket/hot-paths';

/** The auctions every simulated process shares: their slots (as the socket server holds them) and 24-hex hash fields. */
export interface AuctionTable {
  readonly slots: AuctionSlots;
  /** The slot of each auction, by index. */
  readonly slotOf: Int32Array;
  readonly hexIds: readonly string[];
}

export function auctionTable(count: number): AuctionTable {
  const slots = new AuctionSlots(count);
  const slotOf = new Int32Array(count);
  const hexIds: string[] = [];
  const raw = Buffer.alloc(12);
  for (let i = 0; i < count; i++) {
    // An ObjectId-like id: a fixed timestamp, then the index.
    raw.writeUInt32BE(0x65a0_0000, 0);
    raw.writeUInt32BE(0x00be_0c00, 4);
    raw.writeUInt32BE(i, 8);
    const hexId = raw.toString('hex');
    hexIds.push(hexId);
    slotOf[i] = slots.acquire(hexId);
  }
  return { slots, slotOf, hexIds };
}

/** Counters of a worker's processes, shared so that the worker reports them once. */
export interface SimCounters {
  published: number;
  pairsPublished: number;
  bytesPublished: number;
  skippedMarks: number;
  failedWrites: number;
  received: number;
  receivedBytes: number;
  receivedPairs: number;
  execMs: Samples;
  fanOutMs: Samples;
}

export function newCounters(): SimCounters {
  return {
    published: 0,
    pairsPublished: 0,
    bytesPublished: 0,
    skippedMarks: 0,
    failedWrites: 0,
    received: 0,
    receivedBytes: 0,
    receivedPairs: 0,
    execMs: new Samples(4096),
    fanOutMs: new Samples(64 * 1024),
  };
}

export interface SimTimings {
  readonly heartbeatMs: number;
  readonly expireMs: number;
}

export class SimProcess {
  /** Its own viewers per auction. */
  private readonly counts: Uint16Array;
  /** Auctions changed since the last message, once each. */
  private readonly changed: Int32Array;
  private readonly isChanged: Uint8Array;
  private changedCount = 0;
  private readonly writer: CountMessageWriter;
  private readonly key: string;
  private readonly epoch = 1;
  private sequence = 0;
  private writing = false;
  private lastWriteAt = -Infinity;
  /** The sequence and write time of its message in flight, for the fan-out delay. */
  sentSequence = -1;
  sentAt = 0;

  constructor(
    readonly processId: string,
    private readonly auctions: AuctionTable,
    private readonly commands: RespClient,
    private readonly channel: string,
    prefix: string,
    private readonly timings: SimTimings,
    private readonly counters: () => SimCounters,
  ) {
    const n = auctions.hexIds.length;
    this.counts = new Uint16Array(n);
    this.changed = new Int32Array(n);
    this.isChanged = new Uint8Array(n);
    this.writer = new CountMessageWriter(auctions.slots, processId);
    this.key = `${prefix}counts:${processId}`;
  }

  /** A viewer of `auction` joins this process, or one leaves (a random walk that never goes below zero). */
  change(auction: number): void {
    const count = this.counts[auction] ?? 0;
    this.counts[auction] = count > 0 && Math.random() < 0.5 ? count - 1 : count + 1;
    if (this.isChanged[auction] === 1) return;
    this.isChanged[auction] = 1;
    this.changed[this.changedCount++] = auction;
  }

  /** The mark's write, by the rules of ClusterCounts.publishChanges. */
  publish(): void {
    const counters = this.counters();
    if (this.writing) {
      counters.skippedMarks++;
      return;
    }
    const now = performance.now();
    if (this.changedCount === 0 && now - this.lastWriteAt < this.timings.heartbeatMs) return;
    this.sequence = (this.sequence + 1) >>> 0;
    this.writer.begin(MessageKind.delta, this.epoch, this.sequence);
    const hset: RespArg[] = ['HSET', this.key, 'epoch', this.epoch, 'seq', this.sequence];
    const hdel: RespArg[] = ['HDEL', this.key];
    for (let i = 0; i < this.changedCount; i++) {
      const auction = this.changed[i] ?? 0;
      this.isChanged[auction] = 0;
      const count = this.counts[auction] ?? 0;
      this.writer.add(this.auctions.slotOf[auction] ?? 0, count);
      if (count > 0) hset.push(this.auctions.hexIds[auction] ?? '', count);
      else hdel.push(this.auctions.hexIds[auction] ?? '');
    }
    const pairs = this.changedCount;
    this.changedCount = 0;
    const message = this.writer.finish();
    const commands: RespArg[][] = [['MULTI'], hset];
    if (hdel.length > 2) commands.push(hdel);
    commands.push(['PEXPIRE', this.key, this.timings.expireMs], ['PUBLISH', this.channel, message], ['EXEC']);
    this.writing = true;
    this.sentSequence = this.sequence;
    this.sentAt = now;
    this.commands.pipeline(commands).then(
      (replies) => {
        const counters = this.counters();
        const exec = replies[replies.length - 1];
        if (!Array.isArray(exec) || exec.some((reply) => reply instanceof RespError)) counters.failedWrites++;
        else {
          counters.published++;
          counters.pairsPublished += pairs;
          counters.bytesPublished += message.length;
          counters.execMs.push(performance.now() - now);
        }
        this.lastWriteAt = now;
        this.writing = false;
      },
      () => {
        this.counters().failedWrites++;
        this.writing = false;
      },
    );
  }
}

/** What a subscriber does with each message: counts it, and times those its worker sent. */
export function hearer(own: ReadonlyMap<string, SimProcess>, counters: () => SimCounters): (payload: Buffer) => void {
  const header = new CountMessageReader();
  return (payload) => {
    const at = performance.now();
    const c = counters();
    c.received++;
    c.receivedBytes += payload.length;
    if (!header.read(payload)) return;
    c.receivedPairs += header.pairCount;
    const sender = own.get(header.processId);
    if (sender !== undefined && sender.sentSequence === header.sequence) c.fanOutMs.push(at - sender.sentAt);
  };
}
