/**
 * One load-generator process (forked by the bench runner). Each has its own 20,000-file limit
 * and spreads its connections over the source addresses it was given (127.0.0.x: each has its
 * own ~28,000 ephemeral ports). Commands arrive over IPC, one reply each; every command stops by
 * itself (deadline or count) and only ever connects to the loopback target it was given.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { Samples } from '../lib/stats.js';
import type {
  ChurnCommand,
  ChurnResult,
  Command,
  HoldCommand,
  HoldResult,
  IngestCommand,
  IngestResult,
  ProbeCommand,
  ProbeResult,
  Progress,
  ReleaseCommand,
  ReleaseResult,
  Reply,
  Request,
  TrafficResult,
} from './messages.js';
import { ObserverGroup, observerListener } from './observer-group.js';
import { RawViewer, type ViewerListener } from './raw-viewer.js';

const sourceAddresses = (process.env['BENCH_SOURCE_ADDRESSES'] ?? '127.0.0.2').split(',');
let nextAddress = 0;
function sourceAddress(): string {
  const address = sourceAddresses[nextAddress++ % sourceAddresses.length];
  return address ?? '127.0.0.1';
}

/** A viewer that has not joined within this time is dropped and counted as failed. */
const JOIN_TIMEOUT_MS = 15_000;
/** A viewer whose close handshake has not ended the connection within this time is dropped. */
const CLOSE_TIMEOUT_MS = 3_000;

const held: RawViewer[] = [];

function send(message: Reply | Progress): void {
  process.send?.(message);
}

function failureReason(viewer: RawViewer): string {
  if (viewer.closeCode !== 0) return `close ${viewer.closeCode}`;
  return viewer.error ?? 'closed before its first count';
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Drops viewers stuck in a handshake or a close for too long; returns a stop function. */
function watchdog(pending: Set<RawViewer>, leaving: Set<RawViewer>): { stop(): void; forced(): number } {
  let forced = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    for (const viewer of pending) {
      if (now - viewer.startedAt > JOIN_TIMEOUT_MS) {
        viewer.error ??= 'join timed out';
        viewer.destroy();
      }
    }
    for (const viewer of leaving) {
      if (now - viewer.joinedAt > CLOSE_TIMEOUT_MS) {
        forced++;
        viewer.destroy();
      }
    }
  }, 500);
  return {
    stop: () => {
      clearInterval(timer);
    },
    forced: () => forced,
  };
}

function hold(command: HoldCommand): Promise<HoldResult> {
  const { target, auctions, count, concurrency, timeoutMs } = command;
  const started = performance.now();
  const deadline = started + timeoutMs;
  const joinMs = new Samples(count);
  const failures: Record<string, number> = {};
  const pending = new Set<RawViewer>();
  const dog = watchdog(pending, new Set());
  let next = 0;
  let opened = 0;
  let failed = 0;

  return new Promise((resolve) => {
    const progress = setInterval(() => {
      send({ progress: true, opened, failed });
    }, 500);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(progress);
      dog.stop();
      send({ progress: true, opened, failed });
      resolve({ opened, failed, failures, ms: performance.now() - started, joinMs: joinMs.toArray() });
    };
    const listener: ViewerListener = {
      joined(viewer) {
        pending.delete(viewer);
        opened++;
        joinMs.push(viewer.joinedAt - viewer.startedAt);
        held.push(viewer);
        pump();
      },
      closed(viewer) {
        if (!pending.delete(viewer)) return;
        failed++;
        bump(failures, failureReason(viewer));
        pump();
      },
    };
    const pump = (): void => {
      while (pending.size < concurrency && next < count && performance.now() < deadline) {
        const auction = auctions[next % auctions.length] ?? '';
        next++;
        pending.add(new RawViewer(target, auction, sourceAddress(), listener));
      }
      if (pending.size === 0 && (next >= count || performance.now() >= deadline)) finish();
    };
    pump();
  });
}

async function release(command: ReleaseCommand): Promise<ReleaseResult> {
  const started = performance.now();
  const viewers = held.splice(0, held.length);
  for (let i = 0; i < viewers.length; i++) {
    viewers[i]?.leave();
    if (i % 1000 === 999) await sleep(1); // let the event loop breathe between bursts of close frames
  }
  const deadline = started + command.timeoutMs;
  while (performance.now() < deadline && viewers.some((viewer) => !viewer.isClosed)) await sleep(50);
  let forced = 0;
  for (const viewer of viewers) {
    if (!viewer.isClosed) {
      forced++;
      viewer.destroy();
    }
  }
  return { closed: viewers.length - forced, forced, ms: performance.now() - started };
}

function traffic(): TrafficResult {
  let frames = 0;
  let bytes = 0;
  for (const viewer of held) {
    frames += viewer.updates;
    bytes += viewer.bytes;
  }
  return { viewers: held.length, frames, bytes };
}

function churn(command: ChurnCommand): Promise<ChurnResult> {
  const { target, auctions, concurrency, durationMs } = command;
  const started = performance.now();
  const deadline = started + durationMs;
  const joinMs = new Samples(64 * 1024);
  const failures: Record<string, number> = {};
  const pending = new Set<RawViewer>();
  const leaving = new Set<RawViewer>();
  const dog = watchdog(pending, leaving);
  let joins = 0;
  let failed = 0;

  return new Promise((resolve) => {
    const listener: ViewerListener = {
      joined(viewer) {
        pending.delete(viewer);
        joins++;
        joinMs.push(viewer.joinedAt - viewer.startedAt);
        leaving.add(viewer);
        viewer.leave();
      },
      closed(viewer) {
        if (pending.delete(viewer)) {
          failed++;
          bump(failures, failureReason(viewer));
        }
        leaving.delete(viewer);
        pump();
      },
    };
    const pump = (): void => {
      while (pending.size + leaving.size < concurrency && performance.now() < deadline) {
        const auction = auctions[Math.floor(Math.random() * auctions.length)] ?? '';
        pending.add(new RawViewer(target, auction, sourceAddress(), listener));
      }
      if (pending.size + leaving.size === 0) {
        dog.stop();
        if (dog.forced() > 0) failures['close handshake timed out (dropped)'] = dog.forced();
        resolve({ joins, failed, failures, ms: performance.now() - started, joinMs: joinMs.toArray() });
      }
    };
    pump();
  });
}

async function probe(command: ProbeCommand): Promise<ProbeResult> {
  const { target, auctions, observers: perAuction, durationMs, probeTimeoutMs, quietMs } = command;
  const states = new Map<string, ObserverGroup>();
  const listener = observerListener(states);
  const expect = (state: ObserverGroup, expected: number): Promise<boolean> => state.expect(expected, probeTimeoutMs);

  // Observers join one at a time so that the count each reads settles at `perAuction`.
  for (const auctionId of auctions) {
    const state = new ObserverGroup(auctionId);
    states.set(auctionId, state);
    for (let i = 0; i < perAuction; i++) {
      const observer = new RawViewer(target, auctionId, sourceAddress(), listener, true);
      observer.tag = i;
      state.observers.push(observer);
    }
  }
  const ready = await Promise.all([...states.values()].map((state) => expect(state, perAuction)));
  const setupFailures = ready.filter((ok) => !ok).length;

  const observerMs = new Samples(4096);
  const allSeenMs = new Samples(1024);
  let probes = 0;
  let timeouts = 0;
  const deadline = performance.now() + durationMs;
  const joinerListener: ViewerListener = {};
  const loop = async (state: ObserverGroup): Promise<void> => {
    while (performance.now() < deadline) {
      // A random phase against the servers' 200 ms broadcast ticks, or a quiet auction.
      await sleep(quietMs === undefined ? 50 + Math.random() * 200 : quietMs + Math.random() * 100);
      if (performance.now() >= deadline) break;
      const seen = expect(state, perAuction + 1);
      const t0 = performance.now();
      const joiner = new RawViewer(target, state.auctionId, sourceAddress(), joinerListener);
      const ok = await seen;
      probes++;
      if (ok) {
        let last = 0;
        for (const at of state.seenAt) {
          observerMs.push(at - t0);
          last = Math.max(last, at);
        }
        allSeenMs.push(last - t0);
      } else {
        timeouts++;
      }
      const back = expect(state, perAuction);
      joiner.leave();
      const closeBy = performance.now() + probeTimeoutMs;
      while (!joiner.isClosed && performance.now() < closeBy) await sleep(10);
      if (!joiner.isClosed) joiner.destroy();
      await back;
    }
  };
  await Promise.all([...states.values()].map(loop));
  for (const state of states.values()) {
    for (const observer of state.observers) observer.leave();
  }
  const closeBy = performance.now() + 5_000;
  while ([...states.values()].some((s) => s.observers.some((o) => !o.isClosed)) && performance.now() < closeBy) await sleep(20);
  for (const state of states.values()) for (const observer of state.observers) if (!observer.isClosed) observer.destroy();
  return { probes, timeouts, observerMs: observerMs.toArray(), allSeenMs: allSeenMs.toArray(), setupFailures };
}

async function ingest(command: IngestCommand): Promise<IngestResult> {
  const { origin, internalKey, mode, auctions, batchSize, concurrency, durationMs, firstWindowMs } = command;
  const pool = new Pool(origin, { connections: concurrency, keepAliveTimeout: 30_000 });
  const headers = { 'content-type': 'application/json', 'x-internal-api-key': internalKey };
  const latencyMs = new Samples(16 * 1024);
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + durationMs;
  const perItem = mode === 'single' ? 1 : batchSize;
  let nextItem = 0;
  let requests = 0;
  let stored = 0;
  let notStored = 0;
  let errors = 0;
  let firstError: string | undefined;

  /** Item j: auction j mod n, window j div n: every (auction, window) pair is new. */
  const item = (j: number): { auctionId: string; timestamp: string } => ({
    auctionId: auctions[j % auctions.length] ?? '',
    timestamp: new Date(firstWindowMs + Math.floor(j / auctions.length) * 60_000).toISOString(),
  });
  const fields = (j: number): string => {
    const viewers = 2 + (j % 7);
    return `"viewerCount":${viewers},"avgViewers":${viewers - 0.5},"peakViewers":${viewers + 1},"minViewers":1,"sampleCount":12`;
  };

  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const first = nextItem;
      nextItem += perItem;
      let path: string;
      let body: string;
      if (mode === 'single') {
        const { auctionId, timestamp } = item(first);
        path = `/api/v1/auctions/${auctionId}/analytics/snapshot`;
        body = `{"timestamp":"${timestamp}",${fields(first)}}`;
      } else {
        const parts: string[] = [];
        for (let j = first; j < first + perItem; j++) {
          const { auctionId, timestamp } = item(j);
          parts.push(`{"auctionId":"${auctionId}","timestamp":"${timestamp}",${fields(j)}}`);
        }
        path = '/api/v1/analytics/snapshots';
        body = `{"snapshots":[${parts.join(',')}]}`;
      }
      const sent = performance.now();
      try {
        const response = await pool.request({ method: 'POST', path, headers, body });
        const text = await response.body.text();
        latencyMs.push(performance.now() - sent);
        requests++;
        bump(statuses, String(response.statusCode));
        if (mode === 'single' && response.statusCode === 201) stored++;
        else if (mode === 'single' && response.statusCode === 200) notStored++;
        else if (mode === 'batch' && response.statusCode === 200) {
          const reply = JSON.parse(text) as { data?: { stored?: number } };
          const count = reply.data?.stored ?? 0;
          stored += count;
          notStored += perItem - count;
        } else {
          errors++;
          firstError ??= `${response.statusCode}: ${text.slice(0, 300)}`;
        }
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await pool.close();
  return { requests, stored, notStored, errors, statuses, ms: performance.now() - started, latencyMs: latencyMs.toArray(), firstError };
}

function run(command: Command): Promise<unknown> {
  switch (command.type) {
    case 'hold':
      return hold(command);
    case 'release':
      return release(command);
    case 'traffic':
      return Promise.resolve(traffic());
    case 'churn':
      return churn(command);
    case 'probe':
      return probe(command);
    case 'ingest':
      return ingest(command);
  }
}

process.on('message', (message: Request) => {
  run(message.command).then(
    (result) => {
      send({ id: message.id, ok: true, result });
    },
    (error: unknown) => {
      send({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    },
  );
});
// The runner went away (finished or crashed): never linger with open connections.
process.on('disconnect', () => {
  process.exit(0);
});
