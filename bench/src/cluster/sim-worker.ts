/**
 * A simulation worker (forked by the cluster runner): runs its share of the simulated socket
 * processes, two Redis connections each, ticking on the wall clock's marks. Several workers share
 * one mark schedule because the marks are wall-clock multiples of the interval, as in the real
 * code. Commands arrive over IPC; each gets one reply.
 */
import { performance } from 'node:perf_hooks';
import { RespClient } from '../lib/resp.js';
import { Samples } from '../lib/stats.js';
import type { SimCommand, SimReply, SimReport, SimRequest, SimSetup } from './sim-messages.js';
import { auctionTable, hearer, newCounters, SimProcess, type SimCounters } from './sim-process.js';

interface World {
  readonly setup: SimSetup;
  readonly processes: SimProcess[];
  readonly connections: RespClient[];
}

let world: World | undefined;
let counters: SimCounters = newCounters();
let tickLateMs = new Samples(1024);
let ticks = 0;
let windowStartedAt = performance.now();
let timer: NodeJS.Timeout | undefined;

async function setUp(setup: SimSetup): Promise<void> {
  const auctions = auctionTable(setup.auctions);
  const channel = `${setup.prefix}counts`;
  const processes: SimProcess[] = [];
  const connections: RespClient[] = [];
  const own = new Map<string, SimProcess>();
  for (const processId of setup.processIds) {
    const commands = await RespClient.connect(setup.port);
    const subscriber = await RespClient.connect(setup.port);
    connections.push(commands, subscriber);
    const simulated = new SimProcess(processId, auctions, commands, channel, setup.prefix, setup, () => counters);
    processes.push(simulated);
    own.set(processId, simulated);
    await subscriber.subscribe(channel, hearer(own, () => counters));
  }
  world = { setup, processes, connections };
}

/** One mark: this worker's share of the cluster's changes, spread at random over its processes, then every process's write. */
function tick(w: World, markAt: number): void {
  tickLateMs.push(Date.now() - markAt);
  ticks++;
  const { processes, setup } = w;
  for (let i = 0; i < setup.changesPerTick; i++) {
    const simulated = processes[Math.floor(Math.random() * processes.length)];
    simulated?.change(Math.floor(Math.random() * setup.auctions));
  }
  for (const simulated of processes) simulated.publish();
}

/** Mirrors the socket server's everyMark: fires at every wall-clock multiple of the interval. */
function start(w: World): void {
  const interval = w.setup.intervalMs;
  const arm = (): void => {
    const now = Date.now();
    let next = (Math.floor(now / interval) + 1) * interval;
    // A timer that fired a hair before its mark would otherwise tick twice for it (as everyMark guards).
    if (next - now <= 2) next += interval;
    timer = setTimeout(() => {
      arm();
      tick(w, next);
    }, next - now);
  };
  arm();
}

function report(): SimReport {
  return {
    seconds: (performance.now() - windowStartedAt) / 1000,
    ticks,
    published: counters.published,
    pairsPublished: counters.pairsPublished,
    bytesPublished: counters.bytesPublished,
    skippedMarks: counters.skippedMarks,
    failedWrites: counters.failedWrites,
    received: counters.received,
    receivedBytes: counters.receivedBytes,
    receivedPairs: counters.receivedPairs,
    execMs: counters.execMs.toArray(),
    fanOutMs: counters.fanOutMs.toArray(),
    tickLateMs: tickLateMs.toArray(),
  };
}

async function run(command: SimCommand): Promise<SimReport | undefined> {
  switch (command.type) {
    case 'setup':
      await setUp(command);
      return undefined;
    case 'start':
      if (world === undefined) throw new Error('start before setup');
      start(world);
      return undefined;
    case 'mark':
      counters = newCounters();
      tickLateMs = new Samples(1024);
      ticks = 0;
      windowStartedAt = performance.now();
      return undefined;
    case 'stop': {
      clearTimeout(timer);
      const result = report();
      for (const connection of world?.connections ?? []) connection.close();
      return result;
    }
  }
}

function send(reply: SimReply): void {
  process.send?.(reply);
}

process.on('message', (request: SimRequest) => {
  run(request.command).then(
    (result) => {
      send({ id: request.id, ok: true, report: result });
    },
    (error: unknown) => {
      send({ id: request.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    },
  );
});
// The runner went away: never linger with open connections.
process.on('disconnect', () => {
  process.exit(0);
});
