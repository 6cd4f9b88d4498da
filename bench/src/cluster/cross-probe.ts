/**
 * Join → update latency across socket processes that share one port. SO_REUSEPORT picks the
 * process of each connection, so the probe does not choose: it finds out, from Redis. Every
 * process writes its own viewers per auction to its hash (`<prefix>counts:<processId>`) in the
 * same MULTI that publishes them; on a probe auction nobody else joins, the process whose count
 * rose by one is the one the newcomer landed on.
 *
 * Setup: observers join a probe auction one at a time, each located that way, until every process
 * holds at least one. Then, repeatedly after a random 50–250 ms pause (a random phase against the
 * 200 ms marks), a joiner connects (t0 taken before its TCP connect); each observer's time to read
 * the new count is one sample, filed as cross-process when the observer is on another process
 * than the joiner (located after the fact), same-process otherwise. The joiner leaves and the
 * observers wait for the count to drop back before the next probe.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ObserverGroup, observerListener } from '../load/observer-group.js';
import { RawViewer, type Target, type ViewerListener } from '../load/raw-viewer.js';
import { asText, type RespClient } from '../lib/resp.js';
import { Samples } from '../lib/stats.js';

export interface CrossProbeOptions {
  readonly target: Target;
  readonly auctions: readonly string[];
  readonly processIds: readonly string[];
  readonly redis: RespClient;
  readonly prefix: string;
  readonly sourceAddress: string;
  readonly probeTimeoutMs: number;
}

export interface CrossProbeResult {
  readonly probes: number;
  /** Waits given up: some observer did not read the join's count, or the leave's, within the timeout. */
  readonly timeouts: number;
  /** Probes whose joiner could not be located (no process's count rose by exactly one). */
  readonly unlocated: number;
  /** t0 → an observer on another process than the joiner read the new count, ms. */
  readonly crossMs: Float64Array;
  /** t0 → the slowest cross-process observer of the probe read it, ms. */
  readonly allCrossMs: Float64Array;
  /** t0 → an observer on the joiner's own process read it, ms. */
  readonly sameMs: Float64Array;
  /** The joiner's TCP connect → its own first count, ms. */
  readonly joinMs: Float64Array;
  /** Observers held per process (index as processIds). */
  readonly observersPerProcess: readonly number[];
}

class ProbeAuction extends ObserverGroup {
  /** Process index of each observer. */
  readonly processOf: number[] = [];
}

export class CrossProcessProbe {
  private readonly probeAuctions: ProbeAuction[];
  private readonly byAuction = new Map<string, ProbeAuction>();
  private readonly listener: ViewerListener;

  constructor(private readonly options: CrossProbeOptions) {
    this.probeAuctions = options.auctions.map((id) => new ProbeAuction(id));
    for (const auction of this.probeAuctions) this.byAuction.set(auction.auctionId, auction);
    this.listener = observerListener(this.byAuction);
  }

  /** Each process's own viewers of `auctionId`, from its hash. */
  async perProcess(auctionId: string): Promise<number[]> {
    const { prefix, processIds, redis } = this.options;
    const replies = await redis.pipeline(processIds.map((id) => ['HGET', `${prefix}counts:${id}`, auctionId]));
    return replies.map((reply) => (reply === null ? 0 : Number(asText(reply))));
  }

  /** Places observers until every process has one on every probe auction; returns the auctions that could not be covered. */
  async setUp(maxObserversPerAuction: number): Promise<number> {
    const covered = await Promise.all(this.probeAuctions.map((auction) => this.cover(auction, maxObserversPerAuction)));
    return covered.filter((ok) => !ok).length;
  }

  private async cover(auction: ProbeAuction, maxObservers: number): Promise<boolean> {
    const processes = this.options.processIds.length;
    let before = new Array<number>(processes).fill(0);
    while (auction.observers.length < maxObservers) {
      const observer = new RawViewer(this.options.target, auction.auctionId, this.options.sourceAddress, this.listener, true);
      observer.tag = auction.observers.length;
      const joinedBy = performance.now() + this.options.probeTimeoutMs;
      while (!observer.joined && !observer.isClosed && performance.now() < joinedBy) await sleep(10);
      if (!observer.joined) {
        observer.destroy();
        throw new Error(`probe observer of ${auction.auctionId} did not join: ${observer.error ?? `close ${observer.closeCode}`}`);
      }
      // Its process writes the new count at its next mark: at most one interval and a write away.
      const locatedBy = performance.now() + this.options.probeTimeoutMs;
      let at = -1;
      while (at < 0 && performance.now() < locatedBy) {
        await sleep(50);
        const now = await this.perProcess(auction.auctionId);
        if (now.reduce((a, b) => a + b, 0) === auction.observers.length + 1) at = now.findIndex((n, i) => n === (before[i] ?? 0) + 1);
        if (at >= 0) before = now;
      }
      if (at < 0) throw new Error(`probe observer of ${auction.auctionId} could not be located in Redis`);
      auction.observers.push(observer);
      auction.processOf.push(at);
      if (new Set(auction.processOf).size === processes) return true;
    }
    return false;
  }

  observersPerProcess(): number[] {
    const counts = new Array<number>(this.options.processIds.length).fill(0);
    for (const auction of this.probeAuctions) for (const p of auction.processOf) counts[p] = (counts[p] ?? 0) + 1;
    return counts;
  }

  /** Probes every auction in parallel until `durationMs` has passed. */
  async run(durationMs: number): Promise<CrossProbeResult> {
    const crossMs = new Samples(4096);
    const allCrossMs = new Samples(1024);
    const sameMs = new Samples(4096);
    const joinMs = new Samples(1024);
    let probes = 0;
    let timeouts = 0;
    let unlocated = 0;
    const { probeTimeoutMs } = this.options;
    const deadline = performance.now() + durationMs;
    const joinerListener: ViewerListener = {};

    const loop = async (auction: ProbeAuction): Promise<void> => {
      const n = auction.observers.length;
      // Where the observers are: the joiner's process is the one whose count exceeds this by one.
      const base = new Array<number>(this.options.processIds.length).fill(0);
      for (const p of auction.processOf) base[p] = (base[p] ?? 0) + 1;
      if (!(await auction.expect(n, probeTimeoutMs))) throw new Error(`observers of ${auction.auctionId} never saw ${n}`);
      while (performance.now() < deadline) {
        await sleep(50 + Math.random() * 200);
        if (performance.now() >= deadline) break;
        const seen = auction.expect(n + 1, probeTimeoutMs);
        const t0 = performance.now();
        const joiner = new RawViewer(this.options.target, auction.auctionId, this.options.sourceAddress, joinerListener);
        const ok = await seen;
        probes++;
        if (!ok) timeouts++;
        else {
          // Every process holds an observer, so one on another process read the count through
          // Redis: the joiner's process had written its hash (same MULTI) by then.
          const now = await this.perProcess(auction.auctionId);
          const landed = now.findIndex((count, i) => count === (base[i] ?? 0) + 1);
          if (landed < 0) unlocated++;
          else {
            if (joiner.joined) joinMs.push(joiner.joinedAt - joiner.startedAt);
            let slowest = 0;
            auction.observers.forEach((observer, i) => {
              const ms = (auction.seenAt[observer.tag] ?? t0) - t0;
              if (auction.processOf[i] === landed) sameMs.push(ms);
              else {
                crossMs.push(ms);
                slowest = Math.max(slowest, ms);
              }
            });
            allCrossMs.push(slowest);
          }
        }
        const back = auction.expect(n, probeTimeoutMs);
        joiner.leave();
        const closeBy = performance.now() + probeTimeoutMs;
        while (!joiner.isClosed && performance.now() < closeBy) await sleep(10);
        if (!joiner.isClosed) joiner.destroy();
        if (!(await back)) timeouts++;
      }
    };
    await Promise.all(this.probeAuctions.map(loop));
    return {
      probes,
      timeouts,
      unlocated,
      crossMs: crossMs.toArray(),
      allCrossMs: allCrossMs.toArray(),
      sameMs: sameMs.toArray(),
      joinMs: joinMs.toArray(),
      observersPerProcess: this.observersPerProcess(),
    };
  }

  /** Every observer leaves (close frame), then whoever is still connected is dropped. */
  async close(): Promise<void> {
    const all = this.probeAuctions.flatMap((auction) => auction.observers);
    for (const observer of all) observer.leave();
    const closeBy = performance.now() + 5_000;
    while (all.some((observer) => !observer.isClosed) && performance.now() < closeBy) await sleep(20);
    for (const observer of all) if (!observer.isClosed) observer.destroy();
  }
}
