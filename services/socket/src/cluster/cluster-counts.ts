import type { Redis } from 'ioredis';
import type { AuctionSlots } from '../auctions/auction-slots.js';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import type { ViewerCountSource } from '../auctions/viewer-counts.js';
import { AuctionIdIndex, RAW_ID_LENGTH } from './auction-ids.js';
import { ChangedSlots } from '../auctions/changed-slots.js';
import { CountMessageReader, CountMessageWriter, MessageKind, PAIR_LENGTH } from './count-message.js';
import type { ProcessIdentity } from './process-identity.js';
import { everyMark, type MarkTimer } from './wall-clock-marks.js';

export interface ClusterTimings {
  /** The broadcast interval: deltas go out on its wall-clock marks. */
  readonly intervalMs: number;
  /** An idle process still publishes (an empty delta) this often. */
  readonly heartbeatMs: number;
  /** A process silent this long is dropped; its hash expires after the same time. */
  readonly expireMs: number;
  /** How often silent processes are looked for. */
  readonly checkMs: number;
  /** After Redis comes back, the others' hashes are read again this much later, once they have written theirs. */
  readonly reloadDelayMs: number;
}

/**
 * A killed process must vanish from every count within 10 s: silent for three heartbeats it is
 * dropped (6–6.5 s after its last message, at most 4.5 s after its death when idle), leaving
 * room for a broadcast and a loaded machine. A live process whose event loop stalls longer is
 * dropped too, and counted again from its hash with its next message.
 */
export const DEFAULT_CLUSTER_TIMINGS: Omit<ClusterTimings, 'intervalMs'> = {
  heartbeatMs: 2_000,
  expireMs: 6_000,
  checkMs: 500,
  reloadDelayMs: 500,
};

export interface ClusterCountsOptions {
  readonly slots: AuctionSlots;
  /** This process's own viewers; this source drains its changes. */
  readonly local: ViewerCountSource;
  readonly identity: ProcessIdentity;
  /** For writes and reloads: made by createRedisConnection (no offline queue). */
  readonly commands: Redis;
  /** A connection of its own for SUBSCRIBE (a subscribed connection takes no other commands). */
  readonly subscriber: Redis;
  /** Prefix of every key and channel, e.g. "va:". */
  readonly prefix: string;
  readonly timings: Partial<ClusterTimings> & Pick<ClusterTimings, 'intervalMs'>;
  readonly log: (message: string) => void;
}

/** Plain numbers the metrics read at scrape time. */
export interface ClusterCountsStats {
  messagesPublished: number;
  bytesPublished: number;
  messagesReceived: number;
  bytesReceived: number;
  /** Duration of the last write (MULTI … PUBLISH … EXEC), ms. */
  roundTripMs: number;
  failedWrites: number;
  reloads: number;
  peersDropped: number;
  /** Pairs for auctions that found no free slot here (MAX_AUCTIONS too small for the cluster). */
  pairsWithoutSlot: number;
  malformedMessages: number;
}

/** Another process, as this one last heard it. */
class Peer {
  seq = 0;
  heardAt: number;
  reloading = false;
  /** Its viewers per slot of this process. */
  readonly counts: Int32Array;

  constructor(
    readonly processId: string,
    public epoch: number,
    capacity: number,
    now: number,
  ) {
    this.counts = new Int32Array(capacity);
    this.heardAt = now;
  }
}

/** How long start() waits for Redis before it goes on degraded (it catches up when Redis answers). */
const START_WAIT_MS = 2_000;
const EPOCH_FIELD = 'epoch';
const SEQUENCE_FIELD = 'seq';

/**
 * The viewer count of an auction over every live process of the cluster: this process's own
 * count (always current) plus the sum of the others' as last heard through Redis.
 *
 * On each wall-clock mark of the broadcast interval, the auctions whose own count changed are
 * written to this process's hash (`<prefix>counts:<processId>`, refreshed with PEXPIRE) and
 * published as one binary message on `<prefix>counts`, in one MULTI: Redis traffic grows with
 * processes × ticks × changed auctions, never with viewers or joins. An idle process publishes an
 * empty delta every heartbeat. Every process keeps the others' counts per slot and their sum.
 *
 * Pub/sub is at-most-once, so a process's hash (written before its message, atomically) is the
 * truth to fall back on: a gap in a process's sequence, a new epoch or a process heard for the
 * first time makes this one read that hash; a reconnect reads all of them (SCAN + HGETALL). A
 * restarted process (same id, greater epoch) first replaces its hash (DEL in the same MULTI) and
 * publishes a full message: the others swap its counts at once, nothing is counted twice.
 *
 * While Redis is unreachable nothing throws: `degraded` is true, viewers see their own process's
 * live count plus the others' counts as last heard (frozen, not dropped: silence proves nothing
 * then), and once Redis answers again this process writes its whole state and reloads the others'.
 */
export class ClusterCounts implements ViewerCountSource {
  readonly stats: ClusterCountsStats = {
    messagesPublished: 0,
    bytesPublished: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    roundTripMs: 0,
    failedWrites: 0,
    reloads: 0,
    peersDropped: 0,
    pairsWithoutSlot: 0,
    malformedMessages: 0,
  };

  private readonly slots: AuctionSlots;
  private readonly local: ViewerCountSource;
  private readonly identity: ProcessIdentity;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly timings: ClusterTimings;
  private readonly log: (message: string) => void;
  private readonly channel: string;
  /** The subscriber also hears the cluster's other channels (visitors): only this one's messages are counts. */
  private readonly channelBytes: Buffer;
  private readonly keyPrefix: string;
  private readonly ownKey: string;

  /** Sum of the other processes' counts per slot. */
  private readonly othersSum: Int32Array;
  /** Own count per slot as this process's hash holds it. */
  private readonly sent: Int32Array;
  private readonly toPublish: ChangedSlots;
  private readonly toVisit: ChangedSlots;
  private readonly peers = new Map<string, Peer>();
  /** Auction ids on the wire → this process's slots (SharedVisitors reads the same index). */
  readonly ids: AuctionIdIndex;
  private readonly writer: CountMessageWriter;
  private readonly reader = new CountMessageReader();
  /** Reused argument lists of the tick's HSET and HDEL. */
  private readonly setArgs: (string | number)[] = [];
  private readonly deletedFields: string[] = [];

  private sequence = 0;
  private lastWriteAt = -Infinity;
  private writing = false;
  /** The next write replaces the whole hash: at start, and after any write that may have failed. */
  private needFull = true;
  private lastWriteFailed = false;
  private wasDegraded = false;
  private left = false;
  private marks: MarkTimer | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;

  constructor(options: ClusterCountsOptions) {
    this.slots = options.slots;
    this.local = options.local;
    this.identity = options.identity;
    this.commands = options.commands;
    this.subscriber = options.subscriber;
    this.timings = { ...DEFAULT_CLUSTER_TIMINGS, ...options.timings };
    this.log = options.log;
    this.channel = `${options.prefix}counts`;
    this.channelBytes = Buffer.from(this.channel);
    this.keyPrefix = `${options.prefix}counts:`;
    this.ownKey = this.keyPrefix + options.identity.processId;
    const capacity = options.slots.capacity;
    this.othersSum = new Int32Array(capacity);
    this.sent = new Int32Array(capacity);
    this.toPublish = new ChangedSlots(capacity);
    this.toVisit = new ChangedSlots(capacity);
    this.ids = new AuctionIdIndex(options.slots);
    this.writer = new CountMessageWriter(options.slots, options.identity.processId);
  }

  /** Processes heard from and not yet dropped, this one excluded. */
  get peersAlive(): number {
    return this.peers.size;
  }

  /** True while this process cannot both write and hear through Redis: for /ready. */
  get degraded(): boolean {
    return this.commands.status !== 'ready' || this.subscriber.status !== 'ready' || this.lastWriteFailed;
  }

  /** Subscribes, reads the live processes' hashes, and publishes on every mark from now on. */
  async start(): Promise<void> {
    this.subscriber.on('messageBuffer', this.onMessage);
    // Every ready after the first is a reconnect: messages were lost meanwhile, writes may have been.
    this.subscriber.on('ready', this.scheduleReloadAll);
    this.commands.on('ready', this.onCommandsReady);
    // Queued until the subscriber connects; ioredis subscribes again after every reconnect.
    const subscribed = this.subscriber.subscribe(this.channel);
    try {
      await withDeadline(subscribed, START_WAIT_MS);
      await this.reloadAll();
    } catch (error) {
      this.log(`cluster counts start without Redis (${describe(error)}); they recover when it answers`);
    }
    this.marks = everyMark(this.timings.intervalMs, 0, this.publishChanges);
    this.checkTimer = setInterval(this.checkPeers, this.timings.checkMs);
  }

  countAt(slot: number): number {
    return this.othersSum[slot]! + this.local.countAt(slot);
  }

  forEachChanged(visit: (slot: number) => void): void {
    this.local.forEachChanged(this.absorbLocalChange);
    this.toVisit.drain(visit);
  }

  /**
   * Publishes the own counts that changed since the last message (a heartbeat when none did and
   * one is due). Runs on the marks; public for tests and benchmarks that drive ticks themselves.
   */
  readonly publishChanges = (): void => {
    this.local.forEachChanged(this.absorbLocalChange);
    // A write still in flight keeps the order of messages: the changes wait for the next mark.
    if (this.left || this.writing || this.commands.status !== 'ready') return;
    const sinceLastWrite = performance.now() - this.lastWriteAt;
    // After a stall as long as the expiry the hash may be gone, and a delta would leave a partial one behind.
    if (this.needFull || sinceLastWrite >= this.timings.expireMs) {
      this.writeFull();
      return;
    }
    const heartbeatDue = sinceLastWrite >= this.timings.heartbeatMs;
    if (this.toPublish.size === 0 && !heartbeatDue) return;
    // The sequence is taken only if a message goes out: the others read a skipped one as a lost one.
    const sequence = (this.sequence + 1) >>> 0;
    this.writer.begin(MessageKind.delta, this.identity.epoch, sequence);
    this.setArgs.length = 0;
    this.deletedFields.length = 0;
    this.toPublish.drain(this.addChange);
    if (this.writer.pairs === 0 && !heartbeatDue) return;
    this.sequence = sequence;
    const transaction = this.commands.multi().hset(this.ownKey, EPOCH_FIELD, this.identity.epoch, SEQUENCE_FIELD, this.sequence, ...this.setArgs);
    if (this.deletedFields.length > 0) transaction.hdel(this.ownKey, ...this.deletedFields);
    this.send(transaction.pexpire(this.ownKey, this.timings.expireMs));
  };

  /**
   * Graceful end: stops publishing, deletes this process's hash and tells the others, who
   * subtract its counts at once. Never throws; the connections stay open for the caller to close.
   */
  async leave(): Promise<void> {
    this.stopTimers();
    this.left = true;
    this.subscriber.off('messageBuffer', this.onMessage);
    this.subscriber.off('ready', this.scheduleReloadAll);
    this.commands.off('ready', this.onCommandsReady);
    this.writer.begin(MessageKind.leave, this.identity.epoch, (this.sequence + 1) >>> 0);
    try {
      await this.commands.multi().del(this.ownKey).publish(this.channel, this.writer.finish()).exec();
    } catch (error) {
      this.log(`leaving the cluster without Redis (${describe(error)}): the others drop this process when its counts expire`);
    }
  }

  /** Stops without telling anyone, as a killed process would (tests of crashes). */
  stopTimers(): void {
    this.marks?.stop();
    clearInterval(this.checkTimer);
    clearTimeout(this.reloadTimer);
  }

  private readonly absorbLocalChange = (slot: number): void => {
    this.toPublish.add(slot);
    this.toVisit.add(slot);
  };

  private readonly addChange = (slot: number): void => {
    const count = this.local.countAt(slot);
    if (count === this.sent[slot]) return;
    this.sent[slot] = count;
    this.writer.add(slot, count);
    const field = this.slots.idOf(slot);
    if (count > 0) this.setArgs.push(field, count);
    else this.deletedFields.push(field);
  };

  /** Replaces the whole hash with every non-zero own count and publishes them as a full message. */
  private writeFull(): void {
    this.needFull = false;
    this.toPublish.drain(noop);
    this.sequence = (this.sequence + 1) >>> 0;
    this.writer.begin(MessageKind.full, this.identity.epoch, this.sequence);
    this.setArgs.length = 0;
    const { slots } = this;
    for (let slot = 0; slot < slots.highWater; slot++) {
      const count = slots.active[slot] === 1 ? this.local.countAt(slot) : 0;
      this.sent[slot] = count;
      if (count === 0) continue;
      this.writer.add(slot, count);
      this.setArgs.push(slots.idOf(slot), count);
    }
    const transaction = this.commands
      .multi()
      .del(this.ownKey)
      .hset(this.ownKey, EPOCH_FIELD, this.identity.epoch, SEQUENCE_FIELD, this.sequence, ...this.setArgs);
    this.send(transaction.pexpire(this.ownKey, this.timings.expireMs));
  }

  private send(transaction: ReturnType<Redis['multi']>): void {
    const message = this.writer.finish();
    const startedAt = performance.now();
    this.writing = true;
    transaction
      .publish(this.channel, message)
      .exec()
      .then((results) => {
        const failure = results?.find(([error]) => error !== null)?.[0] ?? (results === null ? new Error('transaction aborted') : undefined);
        if (failure !== undefined) throw failure;
        this.stats.messagesPublished++;
        this.stats.bytesPublished += message.length;
        this.stats.roundTripMs = performance.now() - startedAt;
        this.lastWriteAt = startedAt;
        this.lastWriteFailed = false;
      })
      .catch((error: unknown) => {
        // Whether Redis applied it is unknown: the next write sends everything again.
        this.needFull = true;
        this.stats.failedWrites++;
        if (!this.lastWriteFailed) this.log(`cluster counts not written (${describe(error)}): degraded until Redis answers`);
        this.lastWriteFailed = true;
      })
      .finally(() => {
        this.writing = false;
      });
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (!channel.equals(this.channelBytes)) return;
    const reader = this.reader;
    if (!reader.read(message)) {
      this.stats.malformedMessages++;
      return;
    }
    if (reader.processId === this.identity.processId) return;
    this.stats.messagesReceived++;
    this.stats.bytesReceived += message.length;
    const now = performance.now();
    let peer = this.peers.get(reader.processId);

    if (reader.kind === MessageKind.leave) {
      if (peer !== undefined && reader.epoch >= peer.epoch) this.drop(peer);
      return;
    }
    let reload = false;
    if (peer === undefined) {
      peer = new Peer(reader.processId, reader.epoch, this.slots.capacity, now);
      this.peers.set(peer.processId, peer);
      reload = reader.kind !== MessageKind.full;
    } else if (reader.epoch < peer.epoch) {
      return; // From a predecessor still talking after its successor started: it no longer counts.
    } else if (reader.epoch > peer.epoch) {
      this.clear(peer);
      peer.epoch = reader.epoch;
      reload = reader.kind !== MessageKind.full;
    } else if (reader.sequence <= peer.seq) {
      peer.heardAt = now;
      return; // Already in the hash this process reloaded.
    } else if (reader.sequence !== peer.seq + 1 && reader.kind !== MessageKind.full) {
      reload = true;
    }
    peer.heardAt = now;
    peer.seq = reader.sequence;
    if (reader.kind === MessageKind.full) this.clear(peer);
    for (let i = 0, at = reader.pairsAt; i < reader.pairCount; i++, at += PAIR_LENGTH) {
      const slot = this.ids.slotFor(message, at);
      if (slot < 0) this.stats.pairsWithoutSlot++;
      else this.setPeerCount(peer, slot, message.readUInt32LE(at + RAW_ID_LENGTH));
    }
    if (reload) void this.reload(peer);
  };

  private setPeerCount(peer: Peer, slot: number, count: number): void {
    const difference = count - peer.counts[slot]!;
    if (difference === 0) return;
    peer.counts[slot] = count;
    this.othersSum[slot] = this.othersSum[slot]! + difference;
    this.toVisit.add(slot);
  }

  private clear(peer: Peer): void {
    for (let slot = 0; slot < this.slots.highWater; slot++) {
      if (peer.counts[slot] !== 0) this.setPeerCount(peer, slot, 0);
    }
  }

  private drop(peer: Peer): void {
    this.clear(peer);
    this.peers.delete(peer.processId);
    this.stats.peersDropped++;
  }

  /** Reads one process's hash and takes it as that process's counts. */
  private async reload(peer: Peer): Promise<void> {
    if (peer.reloading) return;
    peer.reloading = true;
    try {
      const hash = await this.commands.hgetall(this.keyPrefix + peer.processId);
      this.stats.reloads++;
      this.applyHash(peer, hash);
    } catch (error) {
      // Redis is away: the reload after it comes back covers this process too.
      this.log(`cluster counts of ${peer.processId} not reloaded (${describe(error)})`);
    } finally {
      peer.reloading = false;
    }
  }

  private applyHash(peer: Peer, hash: Record<string, string>): void {
    if (this.peers.get(peer.processId) !== peer) return; // Dropped meanwhile.
    const epoch = Number(hash[EPOCH_FIELD] ?? 0);
    const seq = Number(hash[SEQUENCE_FIELD] ?? 0);
    if (epoch === 0) {
      this.drop(peer); // No hash: the process left or expired.
      return;
    }
    if (epoch < peer.epoch) return; // Its successor is about to replace the hash; its full message follows.
    if (epoch === peer.epoch && seq < peer.seq) {
      // Deltas newer than the hash arrived while it was read: read it again once it caught up.
      setTimeout(() => void this.reload(peer), this.timings.intervalMs);
      return;
    }
    peer.epoch = epoch;
    peer.seq = seq;
    peer.heardAt = performance.now();
    this.clear(peer);
    for (const field in hash) {
      if (field.length !== AUCTION_ID_LENGTH) continue;
      const slot = this.slots.acquire(field);
      if (slot < 0) this.stats.pairsWithoutSlot++;
      else this.setPeerCount(peer, slot, Number(hash[field]));
    }
  }

  /** Reads every live process's hash: at start and after Redis came back. Processes without one are gone. */
  private async reloadAll(): Promise<void> {
    const startedAt = performance.now();
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.commands.scan(cursor, 'MATCH', `${this.keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const processId = key.slice(this.keyPrefix.length);
        if (processId === this.identity.processId) continue;
        found.add(processId);
        const hash = await this.commands.hgetall(key);
        this.stats.reloads++;
        let peer = this.peers.get(processId);
        if (peer === undefined) {
          peer = new Peer(processId, Number(hash[EPOCH_FIELD] ?? 0), this.slots.capacity, performance.now());
          this.peers.set(processId, peer);
        }
        this.applyHash(peer, hash);
      }
    } while (cursor !== '0');
    for (const peer of this.peers.values()) {
      // A process first heard during the scan may have been created after the SCAN passed its key.
      if (!found.has(peer.processId) && peer.heardAt < startedAt) this.drop(peer);
    }
  }

  private readonly onCommandsReady = (): void => {
    this.needFull = true;
  };

  private readonly scheduleReloadAll = (): void => {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadAll().catch((error: unknown) => {
        this.log(`cluster counts not reloaded (${describe(error)}); retrying when Redis answers`);
      });
    }, this.timings.reloadDelayMs);
  };

  /** Drops processes silent too long, unless this one is cut off from Redis: then silence proves nothing. */
  private readonly checkPeers = (): void => {
    const degraded = this.degraded;
    const now = performance.now();
    if (this.wasDegraded && !degraded) {
      for (const peer of this.peers.values()) peer.heardAt = now;
      this.scheduleReloadAll();
    }
    this.wasDegraded = degraded;
    if (degraded) return;
    for (const peer of this.peers.values()) {
      if (now - peer.heardAt > this.timings.expireMs) this.drop(peer);
    }
  };
}

function noop(): void {
  // Changes dropped on purpose: a full write sends every count anyway.
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(ms)} ms`));
    }, ms);
  });
  return Promise.race([promise, deadline]).finally(() => {
    clearTimeout(timer);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
