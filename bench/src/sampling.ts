/**
 * Sampling, broadcast encoding and flush encoding at scale, with the heap watched: 100,000 live
 * auctions sampled per tick, and the frames and batch bodies they produce (with each window's
 * visitor sketch), must allocate nothing per tick. So must the visitor key every join makes.
 * Run: pnpm bench:sampling (node --expose-gc).
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { AuctionSlots, batchLength, CountMessageEncoder, encodeBatch, encodeFrame, fixedFrameBytes, KeyedHash, LocalViewerCounts, MAX_BATCH_BYTES, Sampler, SnapshotOutbox, WindowVisitors } from '@viewer-analytics/socket/hot-paths';
import { measureAllocation } from './heap.js';

const AUCTIONS = Number(process.env['BENCH_AUCTIONS'] ?? 100_000);
const TICKS = Number(process.env['BENCH_TICKS'] ?? 600);
const INTERVAL = 5_000;
const SAMPLES = 12;
/** Measured runs of broadcast and flush (then three times as many). */
const REPEAT = Number(process.env['BENCH_REPEAT'] ?? 10);

const slots = new AuctionSlots(AUCTIONS);
const counts = new LocalViewerCounts(AUCTIONS);
const outbox = new SnapshotOutbox({ maxRecords: AUCTIONS * 4, maxAgeMs: Number.POSITIVE_INFINITY });
/** Each auction's viewers are distinct visitors, still connected at every window (carried over). */
const VIEWERS_OF = (slot: number): number => (slot % 50) + 1;
const visitors = new WindowVisitors((add) => {
  for (let slot = 0; slot < AUCTIONS; slot++) for (let v = 0; v < VIEWERS_OF(slot); v++) add(slot, Math.imul(slot * 64 + v + 1, 0x9e3779b1) >>> 0);
});
for (let i = 0; i < AUCTIONS; i++) {
  const slot = slots.acquire(i.toString(16).padStart(24, '0'));
  for (let v = 0; v < VIEWERS_OF(slot); v++) counts.join(slot);
}
visitors.nextWindow();
const samplerWith = (samplesPerWindow: number): Sampler =>
  new Sampler({
    slots,
    counts,
    outbox,
    visitors,
    intervalMs: INTERVAL,
    samplesPerWindow,
    isIdle: (slot) => counts.countAt(slot) === 0,
    onWindowClosed: () => undefined,
  });

// Pure sampling ticks: a window long enough never to close during the measurement.
const ticker = samplerWith(1e9);
let tickAt = 0;
const tick = (): void => {
  ticker.sample(tickAt);
  tickAt += INTERVAL;
};
for (let i = 0; i < 50; i++) tick(); // warm up the JIT
const sampleHeap = await measureAllocation(tick, TICKS, AUCTIONS);
const started = performance.now();
for (let i = 0; i < TICKS; i++) tick();
const sampleNs = ((performance.now() - started) * 1e6) / (TICKS * AUCTIONS);

// Broadcast: one frame per auction, as if every count changed in one interval.
const encoder = new CountMessageEncoder();
let sink = 0;
const broadcastAll = (): void => {
  encoder.setTime(Date.now());
  for (let slot = 0; slot < AUCTIONS; slot++) sink += encoder.encode(slots.idBytes, slot * 24, counts.countAt(slot)).length;
};
for (let i = 0; i < 3; i++) broadcastAll();
const broadcastHeap = await measureAllocation(broadcastAll, REPEAT, AUCTIONS);
const broadcastStarted = performance.now();
broadcastAll();
const broadcastNs = ((performance.now() - broadcastStarted) * 1e6) / AUCTIONS;

// Flush: window close into the outbox, its write-ahead frame (the journal's part before the file
// write), then every batch body encoded into one reused buffer.
const sampler = samplerWith(SAMPLES);
let at = 0;
const body = Buffer.allocUnsafe(MAX_BATCH_BYTES);
// Room for every auction's record and sketch (at most 1 + 4 × 50 bytes here).
const frame = Buffer.allocUnsafe(fixedFrameBytes(AUCTIONS) + AUCTIONS * 201);
const flushAll = (): void => {
  const from = outbox.tail;
  const closed = sampler.closeWindow();
  sink += encodeFrame(outbox, from, outbox.tail, closed, frame);
  sampler.sample(at);
  at += INTERVAL;
  for (let from = outbox.head; from < outbox.tail; ) {
    const count = batchLength(outbox, from, outbox.tail);
    sink += encodeBatch(outbox, from, count, body);
    from += count;
  }
  outbox.acknowledge(outbox.tail);
};
for (let i = 0; i < 3; i++) flushAll();
const flushHeap = await measureAllocation(flushAll, REPEAT, AUCTIONS);
const flushStarted = performance.now();
flushAll();
const flushNs = ((performance.now() - flushStarted) * 1e6) / AUCTIONS;

// The join's visitor key: one per joining viewer, of an IP and a browser's User-Agent. The hash
// allocates nothing; its result, a uint32, is a heap number whenever it is 2^31 or more (half the
// keys) and the call is not inlined: those 16 bytes are the scavenges of this row.
const visitorHash = new KeyedHash(randomBytes(32));
const identities = Array.from({ length: 1_000 }, (_, i) => `a:203.0.${i >> 8}.${i & 255}\nMozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36`);
const KEYS = 100_000;
const keyAll = (): void => {
  let keys = 0;
  for (let i = 0; i < KEYS; i++) keys ^= visitorHash.key(slots.idOf(i % AUCTIONS), identities[i % identities.length] ?? '');
  sink ^= keys;
};
for (let i = 0; i < 3; i++) keyAll();
const keyHeap = await measureAllocation(keyAll, REPEAT, KEYS);
const keyStarted = performance.now();
keyAll();
const keyNs = ((performance.now() - keyStarted) * 1e6) / KEYS;

const rows = [
  ['sample tick', `${AUCTIONS} auctions (n = ${TICKS})`, sampleNs, sampleHeap],
  ['broadcast encode', `${AUCTIONS} frames (n = ${REPEAT})`, broadcastNs, broadcastHeap],
  ['window close (with visitor sketches) + journal frame + batch encode', `${AUCTIONS} snapshots, 1 to 50 visitors each (n = ${REPEAT})`, flushNs, flushHeap],
  ['visitor key (HMAC-SHA256 of auction id and identity, per join)', `${KEYS} keys (n = ${REPEAT})`, keyNs, keyHeap],
] as const;
console.log('| hot path | work per run | ns per auction (or key) | heap growth: n runs / next 2n runs | allocated per auction (or key) per run | scavenges |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const [name, work, ns, heap] of rows) {
  const [first, rest] = heap.heapGrowthBytes;
  console.log(
    `| ${name} | ${work} | ${ns.toFixed(2)} | ${first} B / ${rest} B | ${heap.marginalBytesPerUnit.toFixed(4)} B | ${heap.scavenges} |`,
  );
}
if (sink < 0) console.log(sink); // keeps the encoders' work observable
