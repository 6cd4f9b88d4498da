/**
 * The cluster's count message as docs/scaling.md ("The count message") specifies it; the socket
 * server's own writer is not part of its package exports (only `hot-paths` is), so the
 * simulation mirrors the format: little-endian kind u8, process id length u8, process id
 * (latin1), epoch u32, sequence u32, then (auction id as 12 raw bytes, count u32) pairs.
 */
export const MessageKind = { delta: 1, full: 2, leave: 3 } as const;
export const RAW_ID_LENGTH = 12;
export const PAIR_LENGTH = RAW_ID_LENGTH + 4;

export function headerLength(processId: string): number {
  return 2 + Buffer.byteLength(processId, 'latin1') + 8;
}

/** Builds one process's messages in a buffer reused from tick to tick. */
export class CountMessageWriter {
  private readonly buffer: Buffer;
  private readonly header: number;
  private length = 0;

  constructor(
    private readonly processId: string,
    maxPairs: number,
  ) {
    this.header = headerLength(processId);
    this.buffer = Buffer.allocUnsafe(this.header + PAIR_LENGTH * maxPairs);
  }

  get pairs(): number {
    return (this.length - this.header) / PAIR_LENGTH;
  }

  begin(kind: number, epoch: number, sequence: number): void {
    this.buffer[0] = kind;
    this.buffer[1] = this.header - 10;
    this.buffer.write(this.processId, 2, 'latin1');
    this.buffer.writeUInt32LE(epoch, this.header - 8);
    this.buffer.writeUInt32LE(sequence, this.header - 4);
    this.length = this.header;
  }

  /** `rawIds` holds auction ids as 12 raw bytes each; `index` picks one. */
  add(rawIds: Buffer, index: number, count: number): void {
    rawIds.copy(this.buffer, this.length, index * RAW_ID_LENGTH, (index + 1) * RAW_ID_LENGTH);
    this.buffer.writeUInt32LE(count, this.length + RAW_ID_LENGTH);
    this.length += PAIR_LENGTH;
  }

  /** A copy: the buffer is rewritten at the next tick while the socket may still hold this one. */
  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

export interface MessageHeader {
  readonly kind: number;
  readonly processId: string;
  readonly epoch: number;
  readonly sequence: number;
  readonly pairCount: number;
}

/** The header of a message, or undefined for one this format cannot read. */
export function readHeader(message: Buffer): MessageHeader | undefined {
  if (message.length < 10) return undefined;
  const idLength = message[1] ?? 0;
  const pairsAt = 2 + idLength + 8;
  if (message.length < pairsAt || (message.length - pairsAt) % PAIR_LENGTH !== 0) return undefined;
  return {
    kind: message[0] ?? 0,
    processId: message.toString('latin1', 2, 2 + idLength),
    epoch: message.readUInt32LE(2 + idLength),
    sequence: message.readUInt32LE(6 + idLength),
    pairCount: (message.length - pairsAt) / PAIR_LENGTH,
  };
}
