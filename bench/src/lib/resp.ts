/**
 * A minimal Redis client (RESP2 over one TCP connection) for the cluster benchmark. The bench
 * package adds no Redis dependency of its own: the commands it sends are plain RESP arrays of
 * bulk strings, byte for byte what ioredis sends for the same call, so Redis does the same work.
 * Replies come back in order; a subscribed connection hands each message to its callback.
 */
import { connect, type Socket } from 'node:net';

export type RespArg = string | number | Buffer;
export type RespValue = string | number | Buffer | null | RespError | RespValue[];

export class RespError extends Error {}

const CRLF = Buffer.from('\r\n');
/** Returned by the parser while a value is not complete yet. */
const INCOMPLETE = Symbol('incomplete');

/** Streaming RESP2 parser: push chunks, take complete values. */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private offset = 0;

  push(chunk: Buffer): void {
    this.buf = this.offset < this.buf.length ? Buffer.concat([this.buf.subarray(this.offset), chunk]) : chunk;
    this.offset = 0;
  }

  /** The next complete value, or undefined until more bytes arrive. */
  next(): RespValue | undefined {
    const parsed = this.parseAt(this.offset);
    if (parsed === INCOMPLETE) return undefined;
    this.offset = parsed.end;
    return parsed.value;
  }

  private parseAt(at: number): { value: RespValue; end: number } | typeof INCOMPLETE {
    const buf = this.buf;
    if (at >= buf.length) return INCOMPLETE;
    const lineEnd = buf.indexOf(CRLF, at);
    if (lineEnd < 0) return INCOMPLETE;
    const type = buf[at];
    const line = buf.toString('latin1', at + 1, lineEnd);
    const after = lineEnd + 2;
    switch (type) {
      case 0x2b: // '+'
        return { value: line, end: after };
      case 0x2d: // '-'
        return { value: new RespError(line), end: after };
      case 0x3a: // ':'
        return { value: Number(line), end: after };
      case 0x24: {
        // '$'
        const length = Number(line);
        if (length < 0) return { value: null, end: after };
        if (buf.length < after + length + 2) return INCOMPLETE;
        return { value: buf.subarray(after, after + length), end: after + length + 2 };
      }
      case 0x2a: {
        // '*'
        const count = Number(line);
        if (count < 0) return { value: null, end: after };
        const items: RespValue[] = [];
        let end = after;
        for (let i = 0; i < count; i++) {
          const item = this.parseAt(end);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item.value);
          end = item.end;
        }
        return { value: items, end };
      }
      default:
        throw new Error(`unexpected RESP type byte ${String(type)}`);
    }
  }
}

/** One command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const arg of args) {
    const data = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'latin1');
    parts.push(Buffer.from(`$${data.length}\r\n`, 'latin1'), data, CRLF);
  }
  return Buffer.concat(parts);
}

export function asText(value: RespValue): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new Error(`expected a string reply, got ${describe(value)}`);
}

function describe(value: RespValue): string {
  if (value instanceof RespError) return `error ${value.message}`;
  return Array.isArray(value) ? 'an array' : String(value);
}

interface Waiter {
  readonly resolve: (value: RespValue) => void;
  readonly reject: (error: Error) => void;
}

export class RespClient {
  private readonly parser = new RespParser();
  private readonly waiting: Waiter[] = [];
  private onMessage: ((payload: Buffer) => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.parser.push(chunk);
      for (let value = this.parser.next(); value !== undefined; value = this.parser.next()) this.dispatch(value);
    });
    socket.on('error', () => {
      // 'close' follows and fails whoever still waits.
    });
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('redis connection closed'));
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RespClient(socket));
      });
    });
  }

  /** One command; an error reply rejects. */
  async send(args: readonly RespArg[]): Promise<RespValue> {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RespError) throw reply;
    return reply ?? null;
  }

  /** Several commands in one write (as ioredis sends a MULTI … EXEC); replies as they came, errors included. */
  pipeline(commands: readonly (readonly RespArg[])[]): Promise<RespValue[]> {
    if (this.closed) return Promise.reject(new Error('redis connection closed'));
    const replies = commands.map(
      () =>
        new Promise<RespValue>((resolve, reject) => {
          this.waiting.push({ resolve, reject });
        }),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  /** Subscribes this connection to `channel`; from then on it only delivers messages. */
  async subscribe(channel: string, onMessage: (payload: Buffer) => void): Promise<void> {
    this.onMessage = onMessage;
    await this.send(['SUBSCRIBE', channel]);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private dispatch(value: RespValue): void {
    if (this.onMessage !== undefined && Array.isArray(value) && value.length === 3) {
      const [kind, , payload] = value;
      // "message" is the only 7-byte push kind starting with 'm': no string built per message.
      if (Buffer.isBuffer(kind) && kind.length === 7 && kind[0] === 0x6d && Buffer.isBuffer(payload)) {
        this.onMessage(payload);
        return;
      }
    }
    this.waiting.shift()?.resolve(value);
  }
}
