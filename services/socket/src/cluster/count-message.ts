import type { AuctionSlots } from '../auctions/auction-slots.js';
import { RAW_ID_LENGTH, writeRawId } from './auction-ids.js';

/**
 * One message per process and tick on the counts channel, little-endian:
 *   kind u8, processId length u8, processId (latin1), epoch u32, sequence u32,
 *   then (auction id: 12 raw bytes, count u32) pairs.
 * delta: the counts that changed (none: a heartbeat); full: every non-zero count, the others are
 * zero; leave: the process is gone, no pairs.
 */
export const MessageKind = { delta: 1, full: 2, leave: 3 } as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

export const PAIR_LENGTH = RAW_ID_LENGTH + 4;

export function headerLength(processId: string): number {
  return 2 + Buffer.byteLength(processId, 'latin1') + 8;
}

/** Builds messages in one buffer sized for every slot, reused from tick to tick. */
export class CountMessageWriter {
  private readonly buffer: Buffer;
  private readonly header: number;
  private length = 0;

  constructor(
    private readonly slots: AuctionSlots,
    private readonly processId: string,
  ) {
    if (Buffer.byteLength(processId, 'latin1') > 255) throw new RangeError('a process id is at most 255 bytes');
    this.header = headerLength(processId);
    this.buffer = Buffer.allocUnsafe(this.header + PAIR_LENGTH * slots.capacity);
  }

  get pairs(): number {
    return (this.length - this.header) / PAIR_LENGTH;
  }

  begin(kind: MessageKind, epoch: number, sequence: number): void {
    const buffer = this.buffer;
    buffer[0] = kind;
    buffer[1] = this.header - 10;
    buffer.write(this.processId, 2, 'latin1');
    buffer.writeUInt32LE(epoch, this.header - 8);
    buffer.writeUInt32LE(sequence, this.header - 4);
    this.length = this.header;
  }

  add(slot: number, count: number): void {
    writeRawId(this.slots, slot, this.buffer, this.length);
    this.buffer.writeUInt32LE(count, this.length + RAW_ID_LENGTH);
    this.length += PAIR_LENGTH;
  }

  /** The message, copied: ioredis may still hold it while the next tick writes the buffer. */
  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

/** Reads a message's header in place; the pairs are read by offset. Reused for every message. */
export class CountMessageReader {
  kind: MessageKind = MessageKind.delta;
  processId = '';
  epoch = 0;
  sequence = 0;
  /** Offset of the first pair, and how many follow. */
  pairsAt = 0;
  pairCount = 0;

  /** False for a message this version cannot read (it is then ignored). */
  read(message: Buffer): boolean {
    if (message.length < 10) return false;
    const kind = message[0]!;
    const idLength = message[1]!;
    const pairsAt = 2 + idLength + 8;
    if ((kind !== MessageKind.delta && kind !== MessageKind.full && kind !== MessageKind.leave) || message.length < pairsAt) return false;
    if ((message.length - pairsAt) % PAIR_LENGTH !== 0) return false;
    this.kind = kind;
    this.processId = message.toString('latin1', 2, 2 + idLength);
    this.epoch = message.readUInt32LE(2 + idLength);
    this.sequence = message.readUInt32LE(6 + idLength);
    this.pairsAt = pairsAt;
    this.pairCount = (message.length - pairsAt) / PAIR_LENGTH;
    return true;
  }
}
