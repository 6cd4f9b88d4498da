// What the benchmarks drive without a server around it: the sampling, broadcast and flush paths
// and the join's visitor key (bench/src/sampling.ts watches what they allocate), the flush against
// a real backend, and the cluster's count message (bench/src/cluster simulates many processes
// writing it).
export { AuctionSlots } from './auctions/auction-slots.js';
export { LocalViewerCounts } from './auctions/viewer-counts.js';
export { BackendClient } from './backend/backend-client.js';
export { CountMessageEncoder } from './broadcast/count-message.js';
export { CountMessageReader, CountMessageWriter, headerLength, MessageKind, PAIR_LENGTH } from './cluster/count-message.js';
export { batchLength, encodeBatch, MAX_BATCH_BYTES } from './delivery/batch-encoder.js';
export { Flusher } from './delivery/flusher.js';
export { encodeFrame, fixedFrameBytes } from './delivery/outbox-journal.js';
export { SnapshotOutbox } from './delivery/snapshot-outbox.js';
export { SocketMetrics } from './metrics.js';
export { Sampler } from './sampling/sampler.js';
export { KeyedHash } from './visitors/keyed-hash.js';
export { WindowVisitors } from './visitors/window-visitors.js';
