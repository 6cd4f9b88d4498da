import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import type { SketchSource, SnapshotOutbox } from './snapshot-outbox.js';

const FILE_MAGIC = 0x56414f42; // "VAOB"
/** Version 3: records carry their window's unique visitors and visitor sketch (variable length). */
const FILE_VERSION = 3;
/** Version 2: fixed records without visitors; still read, so that an upgrade keeps what was waiting. */
const FIXED_RECORDS_VERSION = 2;
/** magic, version, last closed window, CRC-32 of the first 16 bytes. */
const HEADER_BYTES = 20;
const FRAME_MAGIC = 0x56414f46; // "VAOF"
/** Version 3: magic, record count, bytes of records, closed window, CRC-32 of count + bytes + window + records. */
const FRAME_HEADER_BYTES = 24;
/** Version 2: magic, record count, closed window, CRC-32 of count + window + records. */
const FIXED_FRAME_HEADER_BYTES = 20;
/** A record of versions 1 and 2: id, window, sum, last, peak, min, samples. */
const FIXED_RECORD_BYTES = AUCTION_ID_LENGTH + 8 + 8 + 4 * 3 + 1;
/** A version 3 record before its sketch: the fixed record, uniques (int32), sketch length (uint16). */
const RECORD_HEAD_BYTES = FIXED_RECORD_BYTES + 4 + 2;
/** The format a graceful stop wrote before the journal: header (24 bytes), then records. */
const LEGACY_VERSION = 1;
const LEGACY_HEADER_BYTES = 24;
/** Dead records the file may carry before it is rewritten (besides as many as it has live ones). */
const COMPACT_SLACK_RECORDS = 4_096;

export interface JournalEvents {
  /** The file could not be read whole; what was valid was kept and the file moved to `movedTo`. */
  corrupt(details: { file: string; movedTo: string; reason: string; kept: number }): void;
}

export interface RestoredJournal {
  readonly restored: number;
  /** The last window a previous process closed (its snapshots are in the outbox), or -1. */
  readonly lastClosedWindow: number;
}

/**
 * Makes the outbox survive a crash: a write-ahead file that every closed window's snapshots are
 * appended to (and fsynced) before anything else waits on them, rewritten without what the
 * backend acknowledged. A restart loads it whole; records the backend already had come back as
 * harmless duplicates (its unique index). Frames carry a CRC: a torn last frame (a crash during
 * the append) is dropped, a damaged file is moved aside with what was valid kept, never a
 * reason not to start. An exclusive lock file keeps a second process off the same file.
 */
export class OutboxJournal {
  /** Every record before this sequence number was written to the file (or acknowledged first). */
  private durableSeq = 0;
  /** The first sequence number the current file holds, and how many records it holds. */
  private fileStartSeq = 0;
  private fileRecords = 0;
  private fileBytes = 0;
  private lastClosedWindow = -1;
  private handle: FileHandle | undefined;
  private scratch = Buffer.alloc(0);
  /** File operations run one after another, in the order they were asked for. */
  private queue: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  private constructor(
    private readonly path: string,
    private readonly outbox: SnapshotOutbox,
  ) {}

  /** Takes the lock, loads what a previous process left into `outbox` and rewrites the file with it. */
  static async open(path: string, outbox: SnapshotOutbox, events: JournalEvents): Promise<{ journal: OutboxJournal } & RestoredJournal> {
    await mkdir(dirname(path), { recursive: true });
    await acquireLock(`${path}.lock`);
    const journal = new OutboxJournal(path, outbox);
    const before = outbox.tail;
    try {
      journal.lastClosedWindow = await load(path, outbox, events);
      journal.durableSeq = outbox.tail;
      await journal.rewrite();
    } catch (error) {
      await unlink(`${path}.lock`).catch(() => undefined);
      throw error;
    }
    return { journal, restored: outbox.tail - before, lastClosedWindow: journal.lastClosedWindow };
  }

  /** Records written to the file that are still waiting for the backend. */
  get liveRecords(): number {
    return Math.max(0, this.durableSeq - Math.max(this.outbox.head, this.fileStartSeq));
  }

  get bytes(): number {
    return this.fileBytes;
  }

  /**
   * Appends what the outbox gained since the last call and fsyncs it; then drops from the file
   * what the backend acknowledged, once that is worth a rewrite. `closedWindow` names the window
   * whose closing added the records (-1 for none). Resolves when the records are on disk.
   */
  sync(closedWindow = -1): Promise<void> {
    return this.enqueue(async () => {
      if (closedWindow > this.lastClosedWindow) this.lastClosedWindow = closedWindow;
      const from = Math.max(this.durableSeq, this.outbox.head);
      const to = this.outbox.tail;
      if (to > from || closedWindow >= 0) await this.append(from, to, closedWindow);
      this.durableSeq = to;
      const dead = this.fileRecords - this.liveRecords;
      if (this.liveRecords === 0 && dead > 0) await this.truncate();
      else if (dead > Math.max(this.liveRecords, COMPACT_SLACK_RECORDS)) await this.rewrite();
    });
  }

  /** Writes what is left and releases the file: the next start sends it. */
  async close(): Promise<void> {
    await this.sync();
    await this.enqueue(async () => {
      await this.handle?.close();
      this.handle = undefined;
      await unlink(`${this.path}.lock`);
    });
  }

  private enqueue(operation: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      // After a failed write the file's state is unknown: the next operation starts it afresh.
      if (this.failure !== undefined) {
        this.failure = undefined;
        await this.rewrite();
      }
      await operation();
    };
    const next = this.queue.then(run).catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
      throw this.failure;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async append(from: number, to: number, closedWindow: number): Promise<void> {
    const length = this.encodeFrame(from, to, closedWindow);
    const handle = this.handle ?? (await this.openForAppend());
    await handle.write(this.scratch, 0, length);
    await handle.datasync();
    this.fileRecords += to - from;
    this.fileBytes += length;
  }

  /** A fresh file with the live records only, swapped in atomically. */
  private async rewrite(): Promise<void> {
    const from = Math.max(this.outbox.head, this.fileStartSeq);
    const to = this.durableSeq;
    const temporary = `${this.path}.${String(process.pid)}.tmp`;
    const file = await open(temporary, 'w');
    let bytes = HEADER_BYTES;
    try {
      await file.write(this.header());
      if (to > from) {
        const length = this.encodeFrame(from, to, -1);
        await file.write(this.scratch, 0, length);
        bytes += length;
      }
      await file.datasync();
    } finally {
      await file.close();
    }
    await this.handle?.close();
    this.handle = undefined;
    await rename(temporary, this.path);
    await syncDirectory(dirname(this.path));
    this.fileStartSeq = from;
    this.fileRecords = to - from;
    this.fileBytes = bytes;
  }

  /** Everything in the file was acknowledged: back to the header alone. */
  private async truncate(): Promise<void> {
    const handle = this.handle ?? (await this.openForAppend());
    await handle.truncate(0);
    await handle.write(this.header());
    await handle.datasync();
    this.fileStartSeq = this.durableSeq;
    this.fileRecords = 0;
    this.fileBytes = HEADER_BYTES;
  }

  private async openForAppend(): Promise<FileHandle> {
    this.handle = await open(this.path, 'a');
    return this.handle;
  }

  private header(): Buffer {
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(FILE_MAGIC, 0);
    header.writeUInt32LE(FILE_VERSION, 4);
    header.writeDoubleLE(this.lastClosedWindow, 8);
    header.writeUInt32LE(crc32(header.subarray(0, 16)), 16);
    return header;
  }

  /** Encodes records [from, to) as one frame into the reused scratch buffer; returns its length. */
  private encodeFrame(from: number, to: number, closedWindow: number): number {
    const length = frameBytes(this.outbox, from, to);
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(Math.max(length, this.scratch.length * 2));
    return encodeFrame(this.outbox, from, to, closedWindow, this.scratch);
  }
}

/** Bytes of a frame of `records` records without visitor sketches. */
export function fixedFrameBytes(records: number): number {
  return FRAME_HEADER_BYTES + records * RECORD_HEAD_BYTES;
}

/** Bytes of the frame that holds outbox records [from, to). */
export function frameBytes(outbox: SnapshotOutbox, from: number, to: number): number {
  let bytes = fixedFrameBytes(to - from);
  for (let seq = from; seq < to; seq++) bytes += outbox.sketchLengthOf(seq);
  return bytes;
}

/**
 * Writes outbox records [from, to) as one journal frame into `target` (at least
 * `frameBytes(outbox, from, to)` long) and returns its length. No allocation per record: it runs
 * for every live auction at every window close.
 */
export function encodeFrame(outbox: SnapshotOutbox, from: number, to: number, closedWindow: number, target: Buffer): number {
  target.writeUInt32LE(FRAME_MAGIC, 0);
  target.writeUInt32LE(to - from, 4);
  target.writeDoubleLE(closedWindow, 12);
  let offset = FRAME_HEADER_BYTES;
  for (let seq = from; seq < to; seq++) offset = writeRecord(outbox, seq, target, offset);
  target.writeUInt32LE(offset - FRAME_HEADER_BYTES, 8);
  target.writeUInt32LE(crc32(target.subarray(FRAME_HEADER_BYTES, offset), crc32(target.subarray(4, 20))), 20);
  return offset;
}

function writeRecord(outbox: SnapshotOutbox, seq: number, target: Buffer, offset: number): number {
  const ids = outbox.ids;
  const idOffset = outbox.idOffsetOf(seq);
  // A byte loop, not set(subarray()): a view object per record would be garbage at every window.
  for (let i = 0; i < AUCTION_ID_LENGTH; i++) target[offset + i] = ids[idOffset + i]!;
  let at = offset + AUCTION_ID_LENGTH;
  at = target.writeDoubleLE(outbox.windowStartOf(seq), at);
  at = target.writeDoubleLE(outbox.sumOf(seq), at);
  at = target.writeInt32LE(outbox.lastOf(seq), at);
  at = target.writeInt32LE(outbox.peakOf(seq), at);
  at = target.writeInt32LE(outbox.minOf(seq), at);
  at = target.writeUInt8(outbox.samplesOf(seq), at);
  at = target.writeInt32LE(outbox.uniquesOf(seq), at);
  const length = outbox.sketchLengthOf(seq);
  at = target.writeUInt16LE(length, at);
  if (length === 0) return at;
  const sketches = outbox.sketches;
  const sketchAt = outbox.sketchOffsetOf(seq);
  // A byte loop for the same reason as the id's.
  for (let i = 0; i < length; i++) target[at + i] = sketches[sketchAt + i]!;
  return at + length;
}

/** A sketch's bytes inside a loaded file, for the outbox to copy. */
class FileSketch {
  offset = 0;
  length = 0;
  constructor(private readonly source: Buffer) {}
  at(offset: number, length: number): this {
    this.offset = offset;
    this.length = length;
    return this;
  }
  byteLength(): number {
    return this.length;
  }
  writeTo(target: Uint8Array, offset: number): number {
    target.set(this.source.subarray(this.offset, this.offset + this.length), offset);
    return offset + this.length;
  }
}

/** Appends version 3 records (`bytes` of them from `offset`) to the outbox; false when they do not add up. */
function readVisitorRecords(source: Buffer, offset: number, bytes: number, count: number, outbox: SnapshotOutbox): boolean {
  const end = offset + bytes;
  const sketch = new FileSketch(source);
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (end - at < RECORD_HEAD_BYTES) return false;
    const sketchLength = source.readUInt16LE(at + FIXED_RECORD_BYTES + 4);
    const next = at + RECORD_HEAD_BYTES + sketchLength;
    if (next > end) return false;
    appendRecord(source, at, outbox, source.readInt32LE(at + FIXED_RECORD_BYTES), sketchLength === 0 ? null : sketch.at(next - sketchLength, sketchLength));
    at = next;
  }
  return at === end;
}

function readRecords(source: Buffer, offset: number, count: number, outbox: SnapshotOutbox): void {
  for (let i = 0, at = offset; i < count; i++, at += FIXED_RECORD_BYTES) appendRecord(source, at, outbox);
}

/** Appends the record at `at`: its fixed fields, laid out alike in every version, and what version 3 adds after them. */
function appendRecord(source: Buffer, at: number, outbox: SnapshotOutbox, uniques?: number, sketch?: SketchSource | null): void {
  const values = at + AUCTION_ID_LENGTH;
  outbox.append(
    source,
    at,
    source.readDoubleLE(values),
    source.readInt32LE(values + 16),
    source.readDoubleLE(values + 8),
    source.readInt32LE(values + 20),
    source.readInt32LE(values + 24),
    source.readUInt8(values + 28),
    uniques,
    sketch,
  );
}

class CorruptJournal extends Error {}

/** Appends the file's records to the outbox; returns the last closed window it names. */
async function load(path: string, outbox: SnapshotOutbox, events: JournalEvents): Promise<number> {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw error;
  }
  const before = outbox.tail;
  try {
    return parse(body, outbox);
  } catch (error) {
    if (!(error instanceof CorruptJournal)) throw error;
    const movedTo = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(path, movedTo);
    events.corrupt({ file: path, movedTo: basename(movedTo), reason: error.message, kept: outbox.tail - before });
    return -1;
  }
}

function parse(body: Buffer, outbox: SnapshotOutbox): number {
  if (body.length < 8 || body.readUInt32LE(0) !== FILE_MAGIC) throw new CorruptJournal(body.length === 0 ? 'empty file' : 'not an outbox file');
  const version = body.readUInt32LE(4);
  if (version === LEGACY_VERSION) return parseLegacy(body, outbox);
  if (version !== FILE_VERSION && version !== FIXED_RECORDS_VERSION) throw new CorruptJournal(`unknown version ${version}`);
  if (body.length < HEADER_BYTES || body.readUInt32LE(16) !== crc32(body.subarray(0, 16))) throw new CorruptJournal('damaged header');
  return version === FILE_VERSION ? parseFrames(body, outbox) : parseFixedFrames(body, outbox);
}

function parseFrames(body: Buffer, outbox: SnapshotOutbox): number {
  let lastClosedWindow = body.readDoubleLE(8);
  let at = HEADER_BYTES;
  while (at < body.length) {
    // A frame cut short at the very end is an append a crash interrupted: it was never durable.
    if (body.length - at < FRAME_HEADER_BYTES) break;
    if (body.readUInt32LE(at) !== FRAME_MAGIC) throw new CorruptJournal(`no frame at byte ${at}`);
    const count = body.readUInt32LE(at + 4);
    const bytes = body.readUInt32LE(at + 8);
    const end = at + FRAME_HEADER_BYTES + bytes;
    if (end > body.length) break;
    const checksum = crc32(body.subarray(at + FRAME_HEADER_BYTES, end), crc32(body.subarray(at + 4, at + 20)));
    if (checksum !== body.readUInt32LE(at + 20)) {
      if (end === body.length) break;
      throw new CorruptJournal(`damaged frame at byte ${at}`);
    }
    if (!readVisitorRecords(body, at + FRAME_HEADER_BYTES, bytes, count, outbox)) throw new CorruptJournal(`frame at byte ${at} does not add up`);
    lastClosedWindow = Math.max(lastClosedWindow, body.readDoubleLE(at + 12));
    at = end;
  }
  return lastClosedWindow;
}

/** A version 2 file: fixed-size records without visitors. */
function parseFixedFrames(body: Buffer, outbox: SnapshotOutbox): number {
  let lastClosedWindow = body.readDoubleLE(8);
  let at = HEADER_BYTES;
  while (at < body.length) {
    // A frame cut short at the very end is an append a crash interrupted: it was never durable.
    if (body.length - at < FIXED_FRAME_HEADER_BYTES) break;
    if (body.readUInt32LE(at) !== FRAME_MAGIC) throw new CorruptJournal(`no frame at byte ${at}`);
    const count = body.readUInt32LE(at + 4);
    const end = at + FIXED_FRAME_HEADER_BYTES + count * FIXED_RECORD_BYTES;
    if (end > body.length) break;
    const checksum = crc32(body.subarray(at + FIXED_FRAME_HEADER_BYTES, end), crc32(body.subarray(at + 4, at + 16)));
    if (checksum !== body.readUInt32LE(at + 16)) {
      if (end === body.length) break;
      throw new CorruptJournal(`damaged frame at byte ${at}`);
    }
    readRecords(body, at + FIXED_FRAME_HEADER_BYTES, count, outbox);
    lastClosedWindow = Math.max(lastClosedWindow, body.readDoubleLE(at + 8));
    at = end;
  }
  return lastClosedWindow;
}

function parseLegacy(body: Buffer, outbox: SnapshotOutbox): number {
  if (body.length < LEGACY_HEADER_BYTES) throw new CorruptJournal('truncated header');
  const count = body.readUInt32LE(16);
  const whole = Math.floor((body.length - LEGACY_HEADER_BYTES) / FIXED_RECORD_BYTES);
  readRecords(body, LEGACY_HEADER_BYTES, Math.min(count, whole), outbox);
  if (whole < count) throw new CorruptJournal(`truncated: ${whole} of ${count} records`);
  return body.readDoubleLE(8);
}

/** Creates `path` holding our pid; a lock whose process is gone (or was us, before a restart) is taken over. */
async function acquireLock(path: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx');
      await file.write(String(process.pid));
      await file.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new Error(`the outbox file is in use by process ${owner}: give each socket server its own OUTBOX_FILE`);
    }
    await unlink(path).catch(() => undefined);
  }
  throw new Error(`could not take the outbox lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
